//! Property tests: robustness on arbitrary input, span invariants, validator properties.

use pfm_pii::{iban_countries, iban_valid, luhn_valid, PiiKind, PiiSpan, Scrubber};
use proptest::prelude::*;
use std::sync::OnceLock;

fn scrubber() -> &'static Scrubber {
    static S: OnceLock<Scrubber> = OnceLock::new();
    S.get_or_init(Scrubber::new)
}

fn assert_span_invariants(text: &str, spans: &[PiiSpan]) {
    for s in spans {
        assert!(s.start < s.end && s.end <= text.len(), "{s:?} in {text:?}");
        assert!(
            text.is_char_boundary(s.start) && text.is_char_boundary(s.end),
            "{s:?} in {text:?}"
        );
    }
    for w in spans.windows(2) {
        assert!(
            w[0].end <= w[1].start,
            "overlap or unsorted: {w:?} in {text:?}"
        );
    }
}

/// Independent Luhn check digit: the digit that makes `payload + d` valid.
fn luhn_check_digit(payload: &[u8]) -> u8 {
    let sum: u32 = payload
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 0 {
                let x = d * 2;
                x / 10 + x % 10
            } else {
                d
            }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

fn digits_to_string(d: &[u8]) -> String {
    d.iter().map(|&x| char::from(b'0' + x)).collect()
}

/// Independent IBAN check digits for country + BBAN.
fn iban_check(cc: &str, bban: &str) -> String {
    let rearranged = format!("{bban}{cc}00");
    let mut r: u64 = 0;
    for c in rearranged.chars() {
        let v = c.to_digit(36).map_or(0, u64::from);
        r = if v >= 10 {
            (r * 100 + v) % 97
        } else {
            (r * 10 + v) % 97
        };
    }
    format!("{:02}", 98 - r)
}

fn valid_card() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![b'2', b'3', b'4', b'5', b'6']),
        prop::collection::vec(0u8..10, 14),
    )
        .prop_map(|(first, rest)| {
            let mut d = vec![first - b'0'];
            d.extend(rest);
            d.push(luhn_check_digit(&d));
            let s = digits_to_string(&d);
            // 4-4-4-4 with spaces.
            s.as_bytes()
                .chunks(4)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        })
}

fn valid_iban() -> impl Strategy<Value = String> {
    let countries: Vec<(&'static str, usize)> = iban_countries().collect();
    prop::sample::select(countries).prop_flat_map(|(cc, len)| {
        prop::collection::vec(
            prop::sample::select(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".to_vec()),
            len - 4,
        )
        .prop_map(move |bban| {
            let bban = String::from_utf8_lossy(&bban).into_owned();
            format!("{cc}{}{bban}", iban_check(cc, &bban))
        })
    })
}

fn email() -> impl Strategy<Value = String> {
    (
        "[a-z][a-z0-9._+]{0,10}[a-z0-9]",
        "[a-z][a-z0-9-]{0,8}[a-z]",
        "(com|org|de|co\\.uk|io)",
    )
        .prop_map(|(l, d, t)| format!("{l}@{d}.{t}"))
}

/// Free text mixing PII, look-alikes and unicode.
fn mixed_text() -> impl Strategy<Value = String> {
    let filler = prop::sample::select(vec![
        "paid",
        "Überweisung",
        "付款",
        "ref 2024-01-15",
        "1,234.56",
        "12:30",
        "Amazon",
        "😀",
        "café",
        "at",
        "dot",
        "com",
        "+",
        "(",
        ")",
        "-",
        ".",
        "@",
        "0",
        "00",
        "4111",
        "GB82",
        "ﬁ",
        "é",
        "\u{301}",
        "\u{a0}",
        "ORD-555",
        "Tel",
        "SSN",
        "BSN",
    ])
    .prop_map(str::to_string);
    let part = prop_oneof![
        3 => filler,
        1 => valid_card(),
        1 => valid_iban(),
        1 => email(),
        1 => "\\PC{0,12}",
        1 => "[0-9 ().+-]{1,20}",
    ];
    let sep = prop::sample::select(vec![" ", ", ", "", "\n", " / ", "—", ":"]);
    prop::collection::vec((part, sep), 0..8)
        .prop_map(|v| v.into_iter().map(|(p, s)| p + s).collect())
}

proptest! {
    #[test]
    fn scrub_never_panics_on_arbitrary_text(text in any::<String>(), name in proptest::option::of(any::<String>())) {
        let r = scrubber().scrub(&text, name.as_deref());
        assert_span_invariants(&text, &r.spans);
    }

    #[test]
    fn spans_are_sorted_disjoint_and_on_char_boundaries(text in mixed_text(), name in proptest::option::of("\\PC{0,12}")) {
        let spans = scrubber().find(&text, name.as_deref());
        assert_span_invariants(&text, &spans);
    }

    #[test]
    fn scrubbed_text_never_contains_found_cards_ibans_emails(text in mixed_text()) {
        let r = scrubber().scrub(&text, None);
        for s in &r.spans {
            if matches!(s.kind, PiiKind::CardNumber | PiiKind::Iban | PiiKind::Email) {
                let original = &text[s.start..s.end];
                prop_assert!(!r.text.contains(original), "{original:?} left in {:?}", r.text);
            }
        }
    }

    #[test]
    fn generated_pii_is_found_in_context(
        pii in prop_oneof![
            valid_card().prop_map(|c| (PiiKind::CardNumber, c)),
            valid_iban().prop_map(|i| (PiiKind::Iban, i)),
            email().prop_map(|e| (PiiKind::Email, e)),
        ],
        before in prop::sample::select(vec!["paid", "Zahlung an", "付款", "ref:", "→"]),
        after in prop::sample::select(vec!["thanks", "ok.", "已付", "", "(EUR)"]),
    ) {
        let (kind, value) = pii;
        let text = format!("{before} {value} {after}");
        let spans = scrubber().find(&text, None);
        prop_assert!(
            spans.iter().any(|s| s.kind == kind && text[s.start..s.end] == value),
            "{kind} {value:?} not found in {text:?}: {spans:?}"
        );
        let scrubbed = scrubber().redact_all(&text);
        prop_assert!(!scrubbed.contains(&value));
    }

    #[test]
    fn third_party_names_are_found_in_context(
        first in prop::sample::select(vec![
            "Maria", "John", "Aisha", "Wei", "Søren", "José", "Ngozi", "Haruto", "Olga", "Pieter",
            "Małgorzata", "Siobhán",
        ]),
        last in prop::sample::select(vec![
            "Gonzalez", "Smith", "Okafor", "Zhang", "Kierkegaard", "García", "Müller", "Tanaka",
            "Ivanova", "van Dijk", "O'Brien", "Nowak-Kowalska",
        ]),
        shape in 0usize..6,
        before in prop::sample::select(vec!["transfer to", "Paid by", "gift from", "Überweisung an", "", "→"]),
        after in prop::sample::select(vec!["", "IBAN DE89 3704 0044 0532 0130 00", "thanks", "(ref 2024-01)", "- rent"]),
    ) {
        let initial = first.chars().next().map(String::from).unwrap_or_default();
        let name = match shape {
            0 => format!("{first} {last}"),
            1 => format!("{} {}", first.to_uppercase(), last.to_uppercase()),
            2 => format!("{} {first}", last.to_uppercase()),
            3 => format!("{last}, {first}"),
            4 => format!("{initial}. {last}"),
            _ => format!("{} {}", first.to_lowercase(), last.to_lowercase()),
        };
        let text = format!("{before} {name} {after}");
        let spans = scrubber().find(&text, None);
        let names: Vec<&str> = spans
            .iter()
            .filter(|s| s.kind == PiiKind::PersonName)
            .map(|s| &text[s.start..s.end])
            .collect();
        prop_assert_eq!(names, vec![name.as_str()], "in {:?}", text);
    }

    #[test]
    fn luhn_generated_numbers_are_valid_and_single_digit_changes_fail(
        payload in prop::collection::vec(0u8..10, 11..=18),
        pos in any::<prop::sample::Index>(),
        delta in 1u8..10,
    ) {
        let mut d = payload.clone();
        d.push(luhn_check_digit(&payload));
        prop_assert!(luhn_valid(&digits_to_string(&d)));
        let i = pos.index(d.len());
        d[i] = (d[i] + delta) % 10;
        prop_assert!(!luhn_valid(&digits_to_string(&d)));
    }

    #[test]
    fn iban_generated_are_valid_and_single_digit_changes_fail(
        iban in valid_iban(),
        pos in any::<prop::sample::Index>(),
        delta in 1u8..10,
        spaced in any::<bool>(),
        lower in any::<bool>(),
    ) {
        let mut shown = if spaced {
            iban.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ")
        } else {
            iban.clone()
        };
        if lower {
            shown = shown.to_lowercase();
        }
        prop_assert!(iban_valid(&shown), "{shown}");

        // Change one digit (check digits included) to another digit.
        let digit_positions: Vec<usize> = iban
            .bytes()
            .enumerate()
            .filter(|&(i, b)| i >= 2 && b.is_ascii_digit())
            .map(|(i, _)| i)
            .collect();
        let i = digit_positions[pos.index(digit_positions.len())];
        let mut bytes = iban.into_bytes();
        bytes[i] = b'0' + (bytes[i] - b'0' + delta) % 10;
        let changed = String::from_utf8_lossy(&bytes).into_owned();
        prop_assert!(!iban_valid(&changed), "{changed}");
    }
}
