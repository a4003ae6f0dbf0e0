//! Invariant checks ("oracles") shared by the fuzz targets (`fuzz/`, nightly + libFuzzer),
//! their stable replay test (`tests/it/fuzz_corpus_replay.rs`) and the property tests
//! (`tests/it/decode_properties.rs`). Each `check_*` takes the raw bytes of one input and
//! panics when an invariant does not hold.
//!
//! A dev-only crate: the pipeline never links it. It depends only on `pfm-domain` and
//! `pfm-pii`, so the fuzz crate builds it without the pipeline's I/O dependencies (Kafka,
//! Parquet, SQL, Rego) under sanitizer instrumentation.
//!
//! - [`decode`]: `parse_record` on arbitrary bytes, and what an accepted record promises;
//! - [`validate`]: structured mutations of a valid record, judged field by field;
//! - [`scrub`]: the PII scrubber on arbitrary text.
//!
//! With the `opa-standin` feature (the root crate's tests and examples only), also
//! [`opa_standin`]: a stand-in OPA server over `policies/`.
#![forbid(unsafe_code)]

pub mod decode;
#[cfg(feature = "opa-standin")]
pub mod opa_standin;
pub mod scrub;
pub mod validate;

pub use decode::{check_decode, check_transaction, record_json, STORED_PAYLOAD_BYTES};
pub use pfm_domain::{OPTIONAL_FIELDS, REQUIRED_FIELDS};
pub use scrub::{check_scrub, scrub_input};
pub use validate::{check_validate, valid_record};

use pfm_pii::Scrubber;
use std::sync::OnceLock;

/// One scrubber for every check: building it compiles its patterns, which costs more than
/// most single fuzz inputs.
fn scrubber() -> &'static Scrubber {
    static S: OnceLock<Scrubber> = OnceLock::new();
    S.get_or_init(Scrubber::new)
}
