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
    /// A date introduced as a birth date ("DOB 12/03/1985", "né le 3 mars 1985").
    DateOfBirth,
    /// IPv4 or IPv6 address.
    IpAddress,
    /// Street and house number, with the postcode when it follows.
    PostalAddress,
}

impl PiiKind {
    /// All kinds, in declaration order.
    pub const ALL: [PiiKind; 9] = [
        PiiKind::Email,
        PiiKind::Phone,
        PiiKind::CardNumber,
        PiiKind::Iban,
        PiiKind::NationalId,
        PiiKind::PersonName,
        PiiKind::DateOfBirth,
        PiiKind::IpAddress,
        PiiKind::PostalAddress,
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
            PiiKind::DateOfBirth => "[DATE_OF_BIRTH]",
            PiiKind::IpAddress => "[IP_ADDRESS]",
            PiiKind::PostalAddress => "[ADDRESS]",
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
            PiiKind::DateOfBirth => "date_of_birth",
            PiiKind::IpAddress => "ip_address",
            PiiKind::PostalAddress => "postal_address",
        }
    }

    /// Which finding wins when two overlap: the more specific, better validated one. An
    /// address outranks a phone number because digits inside an address (house number,
    /// postcode) are far more often misread as a phone than the other way round.
    pub(crate) fn precedence(self) -> u8 {
        match self {
            PiiKind::Email => 9,
            PiiKind::Iban => 8,
            PiiKind::CardNumber => 7,
            PiiKind::NationalId => 6,
            PiiKind::IpAddress => 5,
            PiiKind::PostalAddress => 4,
            PiiKind::DateOfBirth => 3,
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
