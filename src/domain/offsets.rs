//! Where a source resumes: stored with each batch, in the batch's transaction.

/// The next offset to read in one partition of one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetRow {
    pub source: String,
    pub partition: i32,
    pub next_offset: i64,
}
