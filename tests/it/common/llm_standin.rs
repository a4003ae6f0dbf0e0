//! A STAND-IN for an OpenAI-compatible LLM server: no model can run here, so this small
//! HTTP/1.1 server speaks the wire protocol of `POST /v1/chat/completions` (non-streaming)
//! closely enough for the pipeline's client, and answers what a test scripts. It is not a
//! model and does not read the prompt. It is hand-written over TCP, not axum, because a test
//! needs to close a connection without answering.
//!
//! Each request takes the next scripted [`Reply`], or the default once the script is empty.
//! It records every request (body and `Authorization` header), and the most requests it
//! was ever answering at once. Started [`LlmStandIn::start_limited`], it behaves like an
//! Ollama with `OLLAMA_NUM_PARALLEL` and `OLLAMA_MAX_QUEUE`: it answers `parallel`
//! requests at a time, holds up to `queue` more, and refuses the rest with 503 at once.

use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Tokens every answer reports in `usage`.
pub const PROMPT_TOKENS: u64 = 11;
pub const COMPLETION_TOKENS: u64 = 7;

#[derive(Debug, Clone)]
pub enum Reply {
    /// A chat completion whose message content is this value, serialised.
    Json(Value),
    /// A chat completion whose message content is this text, as is.
    Content(String),
    /// The same reply after this delay.
    Slow(Duration, Box<Reply>),
    /// This status, with `Retry-After: <secs>` when given (429: rate limit; 503: Ollama's
    /// "server busy, please try again. maximum pending requests exceeded").
    Status(u16, Option<u64>),
    /// A 200 whose body is not a chat completion.
    MalformedBody,
    /// The request is read, then the connection is closed without an answer.
    Reset,
}

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub body: Value,
    pub authorization: Option<String>,
}

#[derive(Default)]
struct Shared {
    script: Mutex<VecDeque<Reply>>,
    default: Mutex<Option<Reply>>,
    seen: Mutex<Vec<Seen>>,
    active: AtomicUsize,
    max_active: AtomicUsize,
    /// `(parallel, queue)` when limited, with the permits of the `parallel` answers.
    limit: Option<(usize, usize, Arc<tokio::sync::Semaphore>)>,
    /// Requests refused with 503 because the queue was full.
    rejected: AtomicUsize,
}

pub struct LlmStandIn {
    shared: Arc<Shared>,
    port: u16,
    accept: tokio::task::JoinHandle<()>,
}

impl LlmStandIn {
    /// Listens on a free port of 127.0.0.1; answers `default` when nothing is scripted.
    pub async fn start(default: Reply) -> Self {
        Self::start_with(default, None).await
    }

    /// Answers `parallel` requests at a time and queues `queue` more; the others get 503
    /// (Ollama's "server busy, please try again. maximum pending requests exceeded").
    pub async fn start_limited(default: Reply, parallel: usize, queue: usize) -> Self {
        Self::start_with(default, Some((parallel, queue))).await
    }

    async fn start_with(default: Reply, limit: Option<(usize, usize)>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let shared = Arc::new(Shared {
            limit: limit.map(|(p, q)| (p, q, Arc::new(tokio::sync::Semaphore::new(p)))),
            ..Shared::default()
        });
        *shared.default.lock().expect("lock") = Some(default);
        let s = shared.clone();
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, s.clone()));
            }
        });
        Self {
            shared,
            port,
            accept,
        }
    }

    /// The base URL, as `LLM_URL` takes it.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Replies for the next requests, in order, before the default resumes.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.shared.script.lock().expect("lock").extend(replies);
    }

    pub fn set_default(&self, reply: Reply) {
        *self.shared.default.lock().expect("lock") = Some(reply);
    }

    pub fn requests(&self) -> usize {
        self.shared.seen.lock().expect("lock").len()
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().expect("lock").clone()
    }

    /// The most requests that were in the server at the same time (answered or queued).
    pub fn max_concurrent(&self) -> usize {
        self.shared.max_active.load(Ordering::SeqCst)
    }

    /// Requests refused with 503 because the server was full (limited mode).
    pub fn rejected(&self) -> usize {
        self.shared.rejected.load(Ordering::SeqCst)
    }
}

impl Drop for LlmStandIn {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// A chat completion as OpenAI-compatible servers send it.
pub fn completion(content: &str) -> Value {
    json!({
        "id": "chatcmpl-standin",
        "object": "chat.completion",
        "created": 0,
        "model": "standin-model",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "finish_reason": "stop"
        }],
        "usage": {
            "prompt_tokens": PROMPT_TOKENS,
            "completion_tokens": COMPLETION_TOKENS,
            "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS
        }
    })
}

/// Requests on one connection (keep-alive) until the client closes it.
async fn serve(stream: TcpStream, s: Arc<Shared>) {
    let mut conn = BufReader::new(stream);
    loop {
        let Some((path, authorization, body)) = read_request(&mut conn).await else {
            return;
        };
        if path != "/v1/chat/completions" {
            let _ = respond(&mut conn, 404, &[], "{}").await;
            continue;
        }
        let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
        s.seen.lock().expect("lock").push(Seen {
            body,
            authorization,
        });
        let reply = s
            .script
            .lock()
            .expect("lock")
            .pop_front()
            .or_else(|| s.default.lock().expect("lock").clone())
            .expect("a reply");
        let now = s.active.fetch_add(1, Ordering::SeqCst) + 1;
        s.max_active.fetch_max(now, Ordering::SeqCst);
        // A request leaves the count before its answer is written: once the client has the
        // answer it may send the next one at once, which must not find this one counted.
        let reply = match &s.limit {
            None => ready(reply).await,
            Some((parallel, queue, _)) if now > parallel + queue => {
                s.rejected.fetch_add(1, Ordering::SeqCst);
                Reply::Status(503, None)
            }
            Some((_, _, permits)) => {
                let _permit = permits.acquire().await.expect("permits");
                ready(reply).await
            }
        };
        s.active.fetch_sub(1, Ordering::SeqCst);
        let open = answer(&mut conn, reply).await;
        if !open {
            return; // dropping the stream closes the connection
        }
    }
}

/// `reply` once its delays have passed.
async fn ready(mut reply: Reply) -> Reply {
    while let Reply::Slow(d, inner) = reply {
        tokio::time::sleep(d).await;
        reply = *inner;
    }
    reply
}

/// Sends `reply`; `false` when the connection is to be closed.
async fn answer(conn: &mut BufReader<TcpStream>, reply: Reply) -> bool {
    let sent = match reply {
        Reply::Json(v) => respond(conn, 200, &[], &completion(&v.to_string()).to_string()).await,
        Reply::Content(text) => respond(conn, 200, &[], &completion(&text).to_string()).await,
        Reply::Status(code, after) => {
            let header = after.map(|secs| format!("Retry-After: {secs}"));
            let body = json!({"error": {"message": "server busy, please try again", "type": "server_error"}});
            respond(conn, code, header.as_slice(), &body.to_string()).await
        }
        Reply::MalformedBody => respond(conn, 200, &[], "<html>Bad Gateway</html>").await,
        Reply::Reset | Reply::Slow(..) => return false,
    };
    sent.is_ok()
}

/// One HTTP/1.1 request: its path, `Authorization` header and body; `None` at the end of
/// the connection. Also used by the recording relay in front of the real model
/// (tests/it/llm_real_model.rs).
pub async fn read_request(
    conn: &mut BufReader<TcpStream>,
) -> Option<(String, Option<String>, Vec<u8>)> {
    let mut line = String::new();
    if conn.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let path = line.split_whitespace().nth(1)?.to_owned();
    let (mut length, mut authorization) = (0usize, None);
    loop {
        let mut header = String::new();
        if conn.read_line(&mut header).await.ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().ok()?,
            "authorization" => authorization = Some(value.trim().to_owned()),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    conn.read_exact(&mut body).await.ok()?;
    Some((path, authorization, body))
}

/// Writes one JSON answer with `status` and extra `headers`.
pub async fn respond(
    conn: &mut BufReader<TcpStream>,
    status: u16,
    headers: &[String],
    body: &str,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let stream = conn.get_mut();
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.flush().await
}
