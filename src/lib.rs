//! agentic-pfm: a streaming pipeline for financial transactions where agents act on every
//! record: decode → validate → PII scrub → categorise → risk → govern → protect → commit.

#![forbid(unsafe_code)]

pub mod app;
pub mod breaker;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod journey;
pub mod kafka;
pub mod lineage;
pub mod llm;
pub mod mcp;
pub mod policy;
pub mod sink;
pub mod source;
pub mod stage;
pub mod store;
pub mod telemetry;
pub mod workflow;
