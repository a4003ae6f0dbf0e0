//! The integration tests of the root crate, built as one test binary: each former
//! `tests/<name>.rs` is a module here, so the library and its heavy dependencies (rdkafka,
//! arrow, parquet, sqlx) are linked once instead of once per file. nextest runs every test
//! in its own process, so tests that touch process-wide state stay isolated; select a group
//! with its module path, e.g. `cargo nextest run -E 'test(/^kafka_group::/)'`.

mod common;

mod architecture;
mod audit_agent;
mod chaos;
mod crash_pg;
mod decode_properties;
mod detection_independent;
mod erasure;
mod fuzz_corpus_replay;
mod hostile_input;
mod kafka_group;
mod kafka_outage;
mod kafka_publish;
mod key_management;
mod lakehouse_s3;
mod lineage_events;
mod lineage_journey;
mod llm_agents;
mod llm_client;
mod llm_fleet;
mod llm_pool;
mod llm_real_model;
mod mcp_server;
mod opa_sidecar;
mod pg_outage;
mod pg_shared_accounts;
mod pg_tls;
mod pii_recall_generated;
mod pipeline_e2e;
mod prometheus_scrape;
mod rego_memo;
mod rego_unit;
mod soak;
mod store_conformance;
mod workflow_resume;
mod workflows_sqlite;
