use super::{Source, SourceBatch, SourceError};
use crate::domain::{Envelope, OffsetRow, Position};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// A line longer than this is cut and dead-lettered as oversized without holding it all.
const MAX_LINE: usize = 16 * 1024 * 1024;

/// JSON lines from a file or stdin. The position of a record is its 1-based line number.
/// A file resumes after the last committed line; stdin has no stable identity, so it is
/// read from the start and replays are recognised by transaction id and content digest.
pub struct FileSource {
    name: Arc<str>,
    shown: String,
    reader: BufReader<Box<dyn AsyncRead + Send + Unpin>>,
    line: i64,
    resumable: bool,
    done: bool,
}

impl FileSource {
    pub async fn open(path: &str) -> Result<Self, SourceError> {
        if path == "-" {
            return Ok(Self {
                name: "stdin".into(),
                shown: "stdin".into(),
                reader: BufReader::with_capacity(1 << 20, Box::new(tokio::io::stdin())),
                line: 0,
                resumable: false,
                done: false,
            });
        }
        let io = |source| SourceError::Io {
            path: path.to_owned(),
            source,
        };
        let canonical = tokio::fs::canonicalize(path).await.map_err(io)?;
        let file = tokio::fs::File::open(&canonical).await.map_err(io)?;
        Ok(Self {
            name: format!("file:{}", canonical.display()).into(),
            shown: path.to_owned(),
            reader: BufReader::with_capacity(1 << 20, Box::new(file)),
            line: 0,
            resumable: true,
            done: false,
        })
    }

    /// Reads one line (without the newline); `None` at end of input.
    async fn read_line(&mut self) -> Result<Option<Vec<u8>>, SourceError> {
        let mut buf = Vec::new();
        let mut truncated = false;
        loop {
            let chunk = self
                .reader
                .fill_buf()
                .await
                .map_err(|source| SourceError::Io {
                    path: self.shown.clone(),
                    source,
                })?;
            if chunk.is_empty() {
                return Ok((!buf.is_empty() || truncated).then_some(buf));
            }
            let (take, end) = match chunk.iter().position(|b| *b == b'\n') {
                Some(i) => (i, true),
                None => (chunk.len(), false),
            };
            let room = MAX_LINE.saturating_sub(buf.len());
            if take > room {
                truncated = true;
            }
            buf.extend_from_slice(&chunk[..take.min(room)]);
            self.reader.consume(if end { take + 1 } else { take });
            if end {
                return Ok(Some(buf));
            }
        }
    }
}

impl Source for FileSource {
    fn name(&self) -> &str {
        &self.name
    }

    async fn resume(&mut self, offsets: &HashMap<i32, i64>) -> Result<(), SourceError> {
        if !self.resumable {
            return Ok(());
        }
        let next = offsets.get(&0).copied().unwrap_or(1);
        while self.line + 1 < next {
            if self.read_line().await?.is_none() {
                self.done = true;
                break;
            }
            self.line += 1;
        }
        Ok(())
    }

    async fn next_batch(&mut self, max: usize) -> Result<Option<SourceBatch>, SourceError> {
        if self.done {
            return Ok(None);
        }
        let mut envelopes = Vec::with_capacity(max);
        while envelopes.len() < max {
            let Some(mut payload) = self.read_line().await? else {
                self.done = true;
                break;
            };
            self.line += 1;
            if payload.last() == Some(&b'\r') {
                payload.pop();
            }
            if payload.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            envelopes.push(Envelope {
                position: Position {
                    source: self.name.clone(),
                    partition: 0,
                    offset: self.line,
                },
                payload,
            });
        }
        if envelopes.is_empty() && self.done {
            return Ok(None);
        }
        let offsets = if self.resumable {
            vec![OffsetRow {
                source: self.name.to_string(),
                partition: 0,
                next_offset: self.line + 1,
            }]
        } else {
            Vec::new()
        };
        Ok(Some(SourceBatch { envelopes, offsets }))
    }
}
