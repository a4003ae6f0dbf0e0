use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Non-empty identifier of bounded length without control characters.
macro_rules! bounded_id {
    ($name:ident, $max:expr) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const MAX_LEN: usize = $max;

            pub fn parse(s: &str) -> Result<Self, &'static str> {
                let t = s.trim();
                if t.is_empty() {
                    return Err("must not be empty");
                }
                if t.len() > Self::MAX_LEN {
                    return Err("too long");
                }
                if t.chars().any(char::is_control) {
                    return Err("contains control characters");
                }
                Ok(Self(t.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

bounded_id!(TransactionId, 128);
bounded_id!(AccountId, 128);

/// A strictly positive monetary amount with at most 4 decimal places and below 10^13.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Amount(#[serde(with = "rust_decimal::serde::str")] Decimal);

impl Amount {
    pub const MAX_SCALE: u32 = 4;

    pub fn parse(s: &str) -> Result<Self, &'static str> {
        let t = s.trim();
        let d = if t.contains(['e', 'E']) {
            Decimal::from_scientific(t)
        } else {
            t.parse::<Decimal>()
        }
        .map_err(|_| "not a finite decimal number")?;
        Self::try_from(d)
    }

    pub fn value(self) -> Decimal {
        self.0
    }

    pub fn to_f64(self) -> f64 {
        use rust_decimal::prelude::ToPrimitive;
        self.0.to_f64().unwrap_or(f64::MAX)
    }
}

impl TryFrom<Decimal> for Amount {
    type Error = &'static str;

    fn try_from(d: Decimal) -> Result<Self, Self::Error> {
        let d = d.normalize();
        if d <= Decimal::ZERO {
            return Err("must be greater than zero");
        }
        if d.scale() > Self::MAX_SCALE {
            return Err("more than 4 decimal places");
        }
        if d >= Decimal::from(10_000_000_000_000i64) {
            return Err("too large");
        }
        Ok(Self(d))
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// ISO 4217 alphabetic currency code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        if !super::codes::is_currency(s) {
            return Err("not an ISO 4217 currency code");
        }
        let b = s.as_bytes();
        Ok(Self([b[0], b[1], b[2]]))
    }

    pub fn as_str(&self) -> &str {
        // Only ever built from an ASCII table entry.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

/// ISO 3166-1 alpha-2 country code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Country([u8; 2]);

impl Country {
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        if !super::codes::is_country(s) {
            return Err("not an ISO 3166-1 alpha-2 country code");
        }
        let b = s.as_bytes();
        Ok(Self([b[0], b[1]]))
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("ZZ")
    }
}

/// Merchant category code: exactly four digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mcc(u16);

impl Mcc {
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        if s.len() != 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must be exactly 4 digits");
        }
        s.parse().map(Self).map_err(|_| "must be exactly 4 digits")
    }

    pub fn code(self) -> u16 {
        self.0
    }

    pub fn to_code_string(self) -> String {
        format!("{:04}", self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    CardPresent,
    Online,
    Atm,
    Transfer,
}

impl Channel {
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        match s {
            "card_present" => Ok(Self::CardPresent),
            "online" => Ok(Self::Online),
            "atm" => Ok(Self::Atm),
            "transfer" => Ok(Self::Transfer),
            _ => Err("must be one of card_present, online, atm, transfer"),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CardPresent => "card_present",
            Self::Online => "online",
            Self::Atm => "atm",
            Self::Transfer => "transfer",
        }
    }
}

/// The customer's direct identifiers. Held in plain text only between decode and the
/// protect stage, which replaces them with ciphertexts; nothing downstream sees them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerPii {
    pub name: Option<String>,
    pub email: Option<String>,
    pub card_number: Option<String>,
    pub iban: Option<String>,
}

impl CustomerPii {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.email.is_none()
            && self.card_number.is_none()
            && self.iban.is_none()
    }
}

/// A decoded and validated input record.
#[derive(Debug, Clone)]
pub struct Transaction {
    pub id: TransactionId,
    pub account_id: AccountId,
    pub timestamp: DateTime<Utc>,
    pub amount: Amount,
    pub currency: Currency,
    pub merchant: String,
    pub mcc: Mcc,
    pub country: Country,
    pub channel: Channel,
    pub description: Option<String>,
    pub pii: CustomerPii,
    /// Fields the contract does not name; kept (after PII scrubbing), never rejected.
    pub extra: serde_json::Map<String, serde_json::Value>,
}
