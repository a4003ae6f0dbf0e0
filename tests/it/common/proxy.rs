//! A TCP proxy in front of a test server, owned by one test: it can refuse connections and
//! reset open ones (an outage of that server, for this test's clients only, with the
//! server's data kept), throttle what clients send (slow uploads), and count PUT bytes.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub struct Proxy {
    addr: SocketAddr,
    state: Arc<ProxyState>,
    acceptor: Option<JoinHandle<()>>,
}

struct ProxyState {
    upstream: Mutex<String>,
    up: AtomicBool,
    listening: AtomicBool,
    stop: AtomicBool,
    bytes_per_second: AtomicU64,
    put_body_bytes: AtomicU64,
    next_id: AtomicU64,
    conns: Mutex<HashMap<u64, (TcpStream, TcpStream)>>,
}

impl Proxy {
    /// `upstream` is `host:port` or an `http://` URL.
    pub fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy bind");
        Self::on(listener, upstream)
    }

    /// A proxy on `listener`, whose upstream is set later with [`Proxy::set_upstream`]:
    /// for a server that must know the proxy's address before it starts.
    pub fn on(listener: TcpListener, upstream: &str) -> Self {
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(ProxyState {
            upstream: Mutex::new(host_port(upstream)),
            up: AtomicBool::new(true),
            listening: AtomicBool::new(true),
            stop: AtomicBool::new(false),
            bytes_per_second: AtomicU64::new(0),
            put_body_bytes: AtomicU64::new(0),
            next_id: AtomicU64::new(0),
            conns: Mutex::new(HashMap::new()),
        });
        let st = state.clone();
        let acceptor = std::thread::spawn(move || accept_loop(listener, addr, st));
        Self {
            addr,
            state,
            acceptor: Some(acceptor),
        }
    }

    pub fn set_upstream(&self, upstream: &str) {
        *self
            .state
            .upstream
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = host_port(upstream);
    }

    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn throttle(&self, bytes_per_second: u64) {
        self.state
            .bytes_per_second
            .store(bytes_per_second, Ordering::SeqCst);
    }

    pub fn put_body_bytes(&self) -> u64 {
        self.state.put_body_bytes.load(Ordering::SeqCst)
    }

    /// Connections currently open through the proxy.
    pub fn open_connections(&self) -> usize {
        self.state
            .conns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// Closes the listening socket (new connections are refused) and resets open ones.
    pub fn down(&self) {
        self.state.up.store(false, Ordering::SeqCst);
        self.wait_listening(false);
        self.state.reset_all();
    }

    pub fn up(&self) {
        self.state.up.store(true, Ordering::SeqCst);
        self.wait_listening(true);
    }

    fn wait_listening(&self, want: bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.state.listening.load(Ordering::SeqCst) != want {
            assert!(Instant::now() < deadline, "proxy listener did not change");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn host_port(upstream: &str) -> String {
    upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned()
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        self.state.reset_all();
        if let Some(a) = self.acceptor.take() {
            let _ = a.join();
        }
    }
}

impl ProxyState {
    fn reset_all(&self) {
        let mut conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        for (_, (c, s)) in conns.drain() {
            let _ = c.shutdown(Shutdown::Both);
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    fn forget(&self, id: u64) {
        self.conns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }
}

fn accept_loop(first: TcpListener, addr: SocketAddr, st: Arc<ProxyState>) {
    let mut listener = Some(first);
    while !st.stop.load(Ordering::SeqCst) {
        if !st.up.load(Ordering::SeqCst) {
            listener = None; // closed: connections are refused
            st.listening.store(false, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        if listener.is_none() {
            // std sets SO_REUSEADDR, so the same port can be bound again at once.
            listener = TcpListener::bind(addr).ok();
            if listener.is_none() {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
        }
        let Some(l) = listener.as_ref() else { continue };
        let _ = l.set_nonblocking(true);
        st.listening.store(true, Ordering::SeqCst);
        match l.accept() {
            Ok((client, _)) => {
                let _ = client.set_nonblocking(false);
                let upstream = st
                    .upstream
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let (Ok(c2), Ok(s2), Ok(c3), Ok(s3)) = (
                    client.try_clone(),
                    server.try_clone(),
                    client.try_clone(),
                    server.try_clone(),
                ) else {
                    continue;
                };
                let id = st.next_id.fetch_add(1, Ordering::SeqCst);
                st.conns
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(id, (c3, s3));
                let up = st.clone();
                let down = st.clone();
                std::thread::spawn(move || {
                    pump(client, server, Some(&up));
                    up.forget(id);
                });
                std::thread::spawn(move || {
                    pump(s2, c2, None);
                    down.forget(id);
                });
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// Copies `from` to `to`. On the upload direction (`st` given) it throttles and counts
/// the bytes sent after a PUT request line.
fn pump(mut from: TcpStream, mut to: TcpStream, st: Option<&ProxyState>) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut in_put = false;
    loop {
        let limit = match st {
            Some(s) => match s.bytes_per_second.load(Ordering::SeqCst) {
                0 => buf.len(),
                bps => (bps as usize / 20).clamp(1024, buf.len()),
            },
            None => buf.len(),
        };
        let n = match from.read(&mut buf[..limit]) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some(s) = st {
            let chunk = &buf[..n];
            if chunk.starts_with(b"PUT ") {
                in_put = true;
            } else if chunk.starts_with(b"GET ")
                || chunk.starts_with(b"HEAD ")
                || chunk.starts_with(b"POST ")
            {
                in_put = false;
            }
            if in_put {
                s.put_body_bytes.fetch_add(n as u64, Ordering::SeqCst);
            }
            let bps = s.bytes_per_second.load(Ordering::SeqCst);
            if bps > 0 {
                std::thread::sleep(Duration::from_secs_f64(n as f64 / bps as f64));
            }
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}
