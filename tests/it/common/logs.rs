//! The JSON log lines of an in-process pipeline, as the binary prints them (`init_logging`
//! in src/main.rs: JSON, flattened events, no current span), for tests that assert on the
//! log of a run started through `InProcess`.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

static BUFFER: OnceLock<Buffer> = OnceLock::new();

/// The log from the moment `Logs::start` was called.
pub struct Logs {
    from: usize,
}

impl Logs {
    /// Installs the process-wide subscriber at `INFO` on first use (nextest runs every test
    /// in its own process) and marks where this capture begins.
    pub fn start() -> Self {
        let buffer = BUFFER.get_or_init(|| {
            let buffer = Buffer::default();
            let subscriber = tracing_subscriber::fmt()
                .json()
                .with_max_level(tracing::Level::INFO)
                .with_current_span(false)
                .flatten_event(true)
                .with_writer(buffer.clone())
                .finish();
            // Already set (several tests in one process under `cargo test`): the lines of
            // this run are then missing, and the assertions on them say so.
            let _ = tracing::subscriber::set_global_default(subscriber);
            buffer
        });
        let from = buffer.0.lock().unwrap_or_else(|p| p.into_inner()).len();
        Self { from }
    }

    /// Every complete line logged since `start`.
    pub fn lines(&self) -> Vec<String> {
        let buffer = BUFFER.get().expect("started");
        let bytes = buffer.0.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&bytes[self.from..])
            .lines()
            .map(str::to_owned)
            .collect()
    }
}
