//! Source positions as people write them (`topic:partition:offset`, `file:line`) and as the
//! journey shows them (the topic, or the file and line).

use crate::store::SourcePosition;
use serde::Serialize;

/// Why a `--source-position` could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("source position {given:?}: {why}; expected topic:partition:offset, file:line, kafka:topic:partition:offset, file:PATH:line, stdin:line or synthetic:seed:index")]
pub struct PositionError {
    pub given: String,
    pub why: &'static str,
}

fn is_topic(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 249
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A file source is named by its canonical path when it is read; the same file named
/// relatively here is found when it exists.
fn file_source(path: &str) -> String {
    let shown = std::fs::canonicalize(path)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| path.to_owned());
    format!("file:{shown}")
}

/// Reads a source position. Kafka positions name the topic (`orders:3:1042`, or
/// `kafka:orders:3:1042`); file positions the file and the line (`in.jsonl:7`, or
/// `file:/data/in.jsonl:7`); `stdin:7` and `synthetic:42:7` the other sources.
pub fn parse_position(text: &str) -> Result<SourcePosition, PositionError> {
    let given = text.trim();
    let err = |why| PositionError {
        given: given.to_owned(),
        why,
    };
    if given.is_empty() || given.len() > 4096 || given.chars().any(char::is_control) {
        return Err(err("empty, too long or not printable"));
    }
    let at = |source: String, partition: i32, offset: i64| SourcePosition {
        source,
        partition,
        offset,
    };
    let number = |s: &str| s.parse::<i64>().ok().filter(|n| *n >= 0);
    // The last one or two `:`-separated parts are the numbers.
    let (head, last) = given
        .rsplit_once(':')
        .ok_or_else(|| err("no line or offset"))?;
    let last = number(last).ok_or_else(|| err("the line or offset is not a number"))?;
    let two = head
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h, i32::try_from(number(p)?).ok()?)));
    if let Some(rest) = head.strip_prefix("file:") {
        return Ok(at(file_source(rest), 0, last));
    }
    if head == "stdin" {
        return Ok(at("stdin".into(), 0, last));
    }
    if let Some(seed) = head.strip_prefix("synthetic:") {
        return Ok(at(format!("synthetic:{seed}"), 0, last));
    }
    match two {
        Some((topic, partition)) => {
            let topic = topic.strip_prefix("kafka:").unwrap_or(topic);
            if !is_topic(topic) {
                return Err(err("a topic name is letters, digits, '.', '_' and '-'"));
            }
            Ok(at(format!("kafka:{topic}"), partition, last))
        }
        None if head.starts_with("kafka:") => Err(err("a Kafka position needs a partition")),
        None => Ok(at(file_source(head), 0, last)),
    }
}

/// A source position as the journey shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Origin {
    /// `kafka`, `file`, `stdin`, `synthetic` or `other`.
    pub kind: &'static str,
    /// The stored source name: `kafka:<topic>`, `file:<path>`, ….
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    pub partition: i32,
    /// The Kafka offset, the line number (files and stdin, from 1) or the record's index
    /// (synthetic).
    pub offset: i64,
}

impl Origin {
    pub fn of(p: &SourcePosition) -> Self {
        let (kind, topic, file) = if let Some(t) = p.source.strip_prefix("kafka:") {
            ("kafka", Some(t.to_owned()), None)
        } else if let Some(f) = p.source.strip_prefix("file:") {
            ("file", None, Some(f.to_owned()))
        } else if p.source == "stdin" {
            ("stdin", None, None)
        } else if p.source.starts_with("synthetic:") {
            ("synthetic", None, None)
        } else {
            ("other", None, None)
        };
        Self {
            kind,
            source: p.source.clone(),
            topic,
            file,
            partition: p.partition,
            offset: p.offset,
        }
    }

    /// One line: `Kafka topic orders, partition 3, offset 1042`, `file /in.jsonl, line 7`.
    pub fn describe(&self) -> String {
        match (self.kind, &self.topic, &self.file) {
            ("kafka", Some(t), _) => format!(
                "Kafka topic {t}, partition {}, offset {}",
                self.partition, self.offset
            ),
            ("file", _, Some(f)) => format!("file {f}, line {}", self.offset),
            ("stdin", _, _) => format!("standard input, line {}", self.offset),
            ("synthetic", _, _) => format!("{} record {}", self.source, self.offset),
            _ => format!(
                "{} partition {} offset {}",
                self.source, self.partition, self.offset
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(source: &str, partition: i32, offset: i64) -> SourcePosition {
        SourcePosition {
            source: source.into(),
            partition,
            offset,
        }
    }

    #[test]
    fn kafka_positions_name_the_topic() {
        assert_eq!(
            parse_position("orders:3:1042"),
            Ok(pos("kafka:orders", 3, 1042))
        );
        assert_eq!(
            parse_position("kafka:agentic-transactions:0:7"),
            Ok(pos("kafka:agentic-transactions", 0, 7))
        );
        assert!(parse_position("kafka:orders:7").is_err());
        assert!(parse_position("bad topic!:1:2").is_err());
    }

    #[test]
    fn file_positions_name_the_file_and_line() {
        assert_eq!(
            parse_position("/no/such/in.jsonl:7"),
            Ok(pos("file:/no/such/in.jsonl", 0, 7))
        );
        assert_eq!(
            parse_position("file:/no/such/a:b.jsonl:9"),
            Ok(pos("file:/no/such/a:b.jsonl", 0, 9))
        );
        assert_eq!(parse_position("stdin:4"), Ok(pos("stdin", 0, 4)));
        assert_eq!(
            parse_position("synthetic:42:15"),
            Ok(pos("synthetic:42", 0, 15))
        );
        let here = std::env::current_dir().expect("cwd");
        let file = here.join("Cargo.toml");
        assert_eq!(
            parse_position("Cargo.toml:3").map(|p| p.source),
            Ok(format!("file:{}", file.display()))
        );
    }

    #[test]
    fn bad_positions_say_what_is_expected() {
        for bad in ["", "orders", "orders:x", "in.jsonl:-1", "a:\n:1"] {
            let e = parse_position(bad).expect_err(bad);
            assert!(e.to_string().contains("topic:partition:offset"), "{e}");
        }
    }

    #[test]
    fn origins_read_back() {
        let k = Origin::of(&pos("kafka:orders", 3, 1042));
        assert_eq!(k.topic.as_deref(), Some("orders"));
        assert_eq!(k.describe(), "Kafka topic orders, partition 3, offset 1042");
        let f = Origin::of(&pos("file:/in.jsonl", 0, 7));
        assert_eq!(f.describe(), "file /in.jsonl, line 7");
    }
}
