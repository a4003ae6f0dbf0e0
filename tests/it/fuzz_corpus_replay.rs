//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through the same checks the
//! libFuzzer targets run (`pfm_testkit`), on the stable toolchain, so CI catches a
//! regression on any input the fuzzer once found interesting. See docs/reliability.md.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// Fewer files than this means the corpus went missing, not that everything passed.
const MIN_FILES_PER_TARGET: usize = 20;

fn corpus_files(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn replay(target: &str, check: fn(&[u8])) {
    let files = corpus_files(target);
    assert!(
        files.len() >= MIN_FILES_PER_TARGET,
        "{target}: only {} corpus files",
        files.len()
    );
    let mut failed = Vec::new();
    for path in &files {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if catch_unwind(AssertUnwindSafe(|| check(&data))).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{target}: {} of {} corpus files fail (run `cargo +nightly fuzz run {target} FILE` \
         or this test with --nocapture to see why):\n{}",
        failed.len(),
        files.len(),
        failed.join("\n")
    );
    eprintln!("{target}: {} corpus files pass", files.len());
}

#[test]
fn decode_corpus() {
    replay("decode", pfm_testkit::check_decode);
}

#[test]
fn validate_corpus() {
    replay("validate", pfm_testkit::check_validate);
}

#[test]
fn scrub_corpus() {
    replay("scrub", pfm_testkit::check_scrub);
}
