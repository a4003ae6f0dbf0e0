//! What a finding is: the kinds of PII and a span of text found to be one of them. Every
//! detector produces these, so they sit at the bottom of the crate.

/// The kinds of PII the scrubber finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiKind {
    Email,
    Phone,
    CardNumber,
    Iban,
    NationalId,
    PersonName,
}

impl PiiKind {
    /// All kinds, in declaration order.
    pub const ALL: [PiiKind; 6] = [
        PiiKind::Email,
        PiiKind::Phone,
        PiiKind::CardNumber,
        PiiKind::Iban,
        PiiKind::NationalId,
        PiiKind::PersonName,
    ];

    /// The replacement written by `Scrubber::scrub`.
    pub fn token(self) -> &'static str {
        match self {
            PiiKind::Email => "[EMAIL]",
            PiiKind::Phone => "[PHONE]",
            PiiKind::CardNumber => "[CARD]",
            PiiKind::Iban => "[IBAN]",
            PiiKind::NationalId => "[NATIONAL_ID]",
            PiiKind::PersonName => "[NAME]",
        }
    }

    /// The snake_case name (same as the serde representation).
    pub fn as_str(self) -> &'static str {
        match self {
            PiiKind::Email => "email",
            PiiKind::Phone => "phone",
            PiiKind::CardNumber => "card_number",
            PiiKind::Iban => "iban",
            PiiKind::NationalId => "national_id",
            PiiKind::PersonName => "person_name",
        }
    }

    /// Which finding wins when two overlap: the more specific, better validated one.
    pub(crate) fn precedence(self) -> u8 {
        match self {
            PiiKind::Email => 6,
            PiiKind::Iban => 5,
            PiiKind::CardNumber => 4,
            PiiKind::NationalId => 3,
            PiiKind::Phone => 2,
            PiiKind::PersonName => 1,
        }
    }
}

impl std::fmt::Display for PiiKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding: byte offsets into the original text (always on char boundaries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PiiSpan {
    pub kind: PiiKind,
    pub start: usize,
    pub end: usize,
}
