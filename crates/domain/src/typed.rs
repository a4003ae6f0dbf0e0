//! The typed, borrowed decode of a record: the transaction and content digest of the
//! `serde_json::Value` path (parse.rs), without building a tree of the named fields. Their
//! values stay borrowed from the payload unless they hold escapes; only unknown fields, which
//! the transaction keeps as JSON anyway, become `Value`s.
//!
//! This path only ever accepts. Whatever it cannot decode exactly as the `Value` path does
//! (any rejection, a name given twice, serde_json's private marker names) makes it return
//! `None`, and `parse_record` decodes the payload again on the `Value` path, which defines
//! every digest and every rejection. The digest is the `Value` path's byte for byte: the same
//! serde_json serializer writes the same values, names in the same (byte) order.

use super::fields::{bounded_text, field_holding_nul, parse_timestamp, MAX_TEXT_LEN};
use super::fields::{OPTIONAL_FIELDS, REQUIRED_FIELDS};
use super::types::*;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Number, Value};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::fmt;

/// The named fields in one array: required then optional, as parse.rs checks them.
const NAMED: usize = REQUIRED_FIELDS.len() + OPTIONAL_FIELDS.len();

/// serde_json gives object names with this prefix a meaning of their own (`RawValue`, and
/// `Number` under `arbitrary_precision`) that depends on which features the build unifies.
const MARKER: &str = "$serde_json::private::";

/// A named field's value as written. An accepted record holds nothing else there: any other
/// kind is a rejection, which is the `Value` path's to word.
enum Raw<'de> {
    Str(Cow<'de, str>),
    Num(Number),
    Null,
}

struct Fields<'de> {
    named: [Option<Raw<'de>>; NAMED],
    extra: Map<String, Value>,
}

/// Decodes `text` (already checked for size and UTF-8) when it is an accepted record, with
/// the `Value` path's content digest; `None` when that path must decide.
pub(crate) fn decode(text: &str) -> Option<(Transaction, [u8; 32])> {
    let mut de = serde_json::Deserializer::from_str(text);
    // `deserialize_any`, as `Value` does, so nesting counts against the same depth limit.
    let fields = (&mut de).deserialize_any(Record).ok()?;
    de.end().ok()?;
    let digest = digest(&fields)?;
    let txn = build(fields)?;
    Some((txn, digest))
}

fn name_index(name: &str) -> Option<usize> {
    REQUIRED_FIELDS
        .iter()
        .chain(OPTIONAL_FIELDS.iter())
        .position(|n| *n == name)
}

/// Gives up on the typed path: the error text is never shown, the `Value` path decides.
fn give_up<E: de::Error>() -> E {
    E::custom("left to the Value path")
}

struct Record;

impl<'de> Visitor<'de> for Record {
    type Value = Fields<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a record object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields<'de>, A::Error> {
        let mut named: [Option<Raw<'de>>; NAMED] = Default::default();
        let mut extra = Map::new();
        let mut label = false;
        while let Some(Name(name)) = map.next_key()? {
            if name.starts_with(MARKER) {
                return Err(give_up());
            }
            // A repeated name keeps its last value on the `Value` path; rare enough to leave
            // to it rather than mirror.
            if name == "label" {
                if std::mem::replace(&mut label, true) {
                    return Err(give_up());
                }
                map.next_value_seed(Checked)?;
            } else if let Some(i) = name_index(&name) {
                if named[i].is_some() {
                    return Err(give_up());
                }
                named[i] = Some(map.next_value_seed(RawSeed)?);
            } else {
                let value: Value = map.next_value()?;
                if extra.insert(name.into_owned(), value).is_some() {
                    return Err(give_up());
                }
            }
        }
        Ok(Fields { named, extra })
    }
}

/// An object's name, borrowed from the payload unless it holds escapes.
struct Name<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(Text).map(Name)
    }
}

struct Text;

impl<'de> Visitor<'de> for Text {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(s))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s.to_owned()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s))
    }
}

/// A named field's value; numbers become the `Number` that `Value` would hold.
struct RawSeed;

impl<'de> DeserializeSeed<'de> for RawSeed {
    type Value = Raw<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Raw<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RawSeed {
    type Value = Raw<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, number or null")
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Raw<'de>, E> {
        Ok(Raw::Str(Cow::Borrowed(s)))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Raw<'de>, E> {
        Ok(Raw::Str(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Raw<'de>, E> {
        Ok(Raw::Str(Cow::Owned(s)))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Raw<'de>, E> {
        Ok(Raw::Num(n.into()))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Raw<'de>, E> {
        Ok(Raw::Num(n.into()))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Raw<'de>, E> {
        // As `Value` does: a float JSON can write is always finite, but mirror it anyway.
        Ok(Number::from_f64(n).map_or(Raw::Null, Raw::Num))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Raw<'de>, E> {
        Ok(Raw::Null)
    }
}

/// The `label`, which is not content: parsed as `Value` would parse it (so the same
/// payloads fail: numbers out of range, bad escapes, the depth limit), but not kept.
/// serde_json's `IgnoredAny` only scans, and would accept some of those.
struct Checked;

impl<'de> DeserializeSeed<'de> for Checked {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Checked {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Checked)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Name(name)) = map.next_key()? {
            if name.starts_with(MARKER) {
                return Err(give_up());
            }
            map.next_value_seed(Checked)?;
        }
        Ok(())
    }
}

/// One member of the record without its label, for the digest.
enum Member<'a> {
    Named(&'a Raw<'a>),
    Extra(&'a Value),
}

impl Serialize for Member<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Named(Raw::Str(v)) => s.serialize_str(v),
            Self::Named(Raw::Num(n)) => n.serialize(s),
            Self::Named(Raw::Null) => s.serialize_unit(),
            Self::Extra(v) => v.serialize(s),
        }
    }
}

/// The members in name order: serialized as the `Value` path's `BTreeMap` serializes.
struct Canonical<'a>(Vec<(&'a str, Member<'a>)>);

impl Serialize for Canonical<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, member) in &self.0 {
            map.serialize_entry(name, member)?;
        }
        map.end()
    }
}

fn digest(f: &Fields<'_>) -> Option<[u8; 32]> {
    let mut members: Vec<(&str, Member<'_>)> = Vec::with_capacity(NAMED + f.extra.len());
    let names = REQUIRED_FIELDS.iter().chain(OPTIONAL_FIELDS.iter());
    for (name, raw) in names.zip(&f.named) {
        if let Some(raw) = raw {
            members.push((name, Member::Named(raw)));
        }
    }
    members.extend(f.extra.iter().map(|(k, v)| (k.as_str(), Member::Extra(v))));
    // `str`'s order is its bytes', which is `BTreeMap<String, _>`'s.
    members.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut json = Vec::with_capacity(512);
    serde_json::to_writer(&mut json, &Canonical(members)).ok()?;
    Some(Sha256::digest(&json).into())
}

fn text<'a>(raw: &'a Option<Raw<'_>>) -> Option<&'a str> {
    match raw {
        Some(Raw::Str(s)) => Some(s),
        _ => None,
    }
}

/// An optional field as parse.rs reads it: absent, null or blank is `None`.
fn optional<T>(
    raw: &Option<Raw<'_>>,
    parse: impl FnOnce(&str) -> Result<T, &'static str>,
) -> Option<Option<T>> {
    match raw {
        None | Some(Raw::Null) => Some(None),
        Some(Raw::Str(s)) if s.trim().is_empty() => Some(None),
        Some(Raw::Str(s)) => parse(s).ok().map(Some),
        Some(Raw::Num(_)) => None,
    }
}

fn build(f: Fields<'_>) -> Option<Transaction> {
    // U+0000 anywhere outside the label is a rejection (see fields.rs).
    let nul = f
        .named
        .iter()
        .any(|r| matches!(r, Some(Raw::Str(s)) if s.contains('\0')));
    if nul || field_holding_nul(&f.extra).is_some() {
        return None;
    }
    let [id, account, timestamp, amount, currency, merchant, mcc, country, channel, description, name, email, card, iban] =
        &f.named;
    let amount = match amount.as_ref()? {
        Raw::Str(s) => Amount::parse(s),
        Raw::Num(n) => Amount::parse(&n.to_string()),
        Raw::Null => return None,
    };
    let mcc = match mcc.as_ref()? {
        Raw::Str(s) => Mcc::parse(s),
        // As parse.rs: `Number`'s Display ignores width and fill, so pad its string.
        Raw::Num(n) => Mcc::parse(&format!("{:0>4}", n.to_string())),
        Raw::Null => return None,
    };
    Some(Transaction {
        id: TransactionId::parse(text(id)?).ok()?,
        account_id: AccountId::parse(text(account)?).ok()?,
        timestamp: parse_timestamp(text(timestamp)?).ok()?,
        amount: amount.ok()?,
        currency: Currency::parse(text(currency)?).ok()?,
        merchant: bounded_text(text(merchant)?, 256).ok()?,
        mcc: mcc.ok()?,
        country: Country::parse(text(country)?).ok()?,
        channel: Channel::parse(text(channel)?).ok()?,
        description: optional(description, |s| bounded_text(s, MAX_TEXT_LEN))?,
        pii: CustomerPii {
            name: optional(name, |s| bounded_text(s, 256))?,
            email: optional(email, |s| bounded_text(s, 320))?,
            card_number: optional(card, |s| bounded_text(s, 64))?,
            iban: optional(iban, |s| bounded_text(s, 64))?,
        },
        extra: f.extra,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_record_reference;

    const BASE: &str = r#""transaction_id":"t-1","account_id":"a-1","timestamp":"2026-03-01T10:00:00Z","currency":"EUR","merchant":"Shop","country":"DE","channel":"online""#;

    fn record(more: &str) -> String {
        format!("{{{BASE},{more}}}")
    }

    /// The typed path's result, which must exist and equal the `Value` path's.
    fn typed(payload: &str) -> [u8; 32] {
        let (t, d) = decode(payload).unwrap_or_else(|| panic!("left to Value: {payload}"));
        let (rt, rd) = parse_record_reference(payload.as_bytes()).expect("accepted");
        assert_eq!(format!("{t:?}"), format!("{rt:?}"), "{payload}");
        assert_eq!(d, rd, "digest of {payload}");
        d
    }

    /// Left to the `Value` path, which then decides as it always did.
    fn left(payload: &str) {
        assert!(decode(payload).is_none(), "typed path took {payload}");
        let bytes = payload.as_bytes();
        assert_eq!(
            crate::parse_record(bytes).map(|(t, d)| (format!("{t:?}"), d)),
            parse_record_reference(bytes).map(|(t, d)| (format!("{t:?}"), d)),
        );
    }

    #[test]
    fn common_shapes_take_the_typed_path_with_the_value_paths_digest() {
        let plain = typed(&record(r#""amount":"12.50","mcc":"5411""#));
        typed(&record(
            r#""amount":12.5,"mcc":5411,"label":{"fraud":true,"n":[1,2.5e3]}"#,
        ));
        typed(&record(
            r#""amount":1e2,"mcc":742,"description":null,"iban":"  ""#,
        ));
        typed(&record(
            r#""amount":"3","mcc":"0742","customer_email":"x@example.com","card_number":"4111 1111 1111 1111","customer_name":"Zoë \"Z\"","description":"caf\u00e9 \ud83d\ude00","iban":"DE89370400440532013000""#,
        ));
        typed(&record(
            r#""amount":"1","mcc":"5411","loyalty":{"tier":"gold","n":[1,-2,3.25e-2,18446744073709551616,null,true]},"a\u0062c":"x""#,
        ));
        // Escaped names are the same names; the label is not content.
        let escaped = typed(&format!(
            "{{{},\"\\u0061mount\":\"12.50\",\"mcc\":\"5411\",\"label\":\"x\"}}",
            BASE.replace("\"channel\"", "\"chan\\u006eel\"")
        ));
        assert_eq!(plain, escaped);
    }

    #[test]
    fn other_shapes_are_left_to_the_value_path() {
        let ok = r#""amount":"12.50","mcc":"5411""#;
        // Names given twice: the `Value` path keeps the last value.
        left(&record(&format!(r#"{ok},"amount":"13""#)));
        left(&record(&format!(r#"{ok},"x":1,"x":2"#)));
        left(&record(&format!(r#"{ok},"label":1,"label":2"#)));
        // serde_json's marker names, at the top and within the label.
        left(&format!(
            "{{\"$serde_json::private::RawValue\":\"{{}}\",{BASE},{ok}}}"
        ));
        left(&record(&format!(
            r#"{ok},"label":{{"$serde_json::private::RawValue":"[1]"}}"#
        )));
        // Every rejection, even one the typed path could word.
        left(&record(r#""amount":"-1","mcc":"5411""#));
        left(&record(r#""amount":"1""#));
        left(&record(r#""amount":"1","mcc":"5411","iban":7"#));
        left(&record(
            r#""amount":"1","mcc":"5411","description":"a\u0000b""#,
        ));
        left(&record(r#""amount":"1","mcc":"5411","x":{"y":["\u0000"]}"#));
        left(&record(r#""amount":true,"mcc":"5411""#));
        // What `Value` cannot parse, in the label too: not skipped by a mere scan.
        left(&record(r#""amount":"1","mcc":"5411","label":1e309"#));
        left(&record(r#""amount":"1","mcc":"5411","label":"\ud800""#));
        left(&format!("{}x", record(ok)));
        left("[1]");
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        left(&record(&format!(r#"{ok},"label":{deep}"#)));
    }
}
