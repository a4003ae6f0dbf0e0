//! What the service tells the outside about itself: readiness and liveness (`/health`,
//! `/live`), Prometheus metrics (`/metrics`) and the HTTP server that serves them. It sits
//! below the adapters (Kafka, store, sinks) so that each of them can report into it.

pub mod health;
pub mod http;
pub mod metrics;
