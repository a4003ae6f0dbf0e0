//! Properties of the generated stream. Check digits are verified with implementations written
//! here, independently of the crate's own.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Timelike};
use pfm_synth::{GenConfig, Generator, Pattern, SyntheticTxn};

fn stream(seed: u64, n: usize) -> Vec<SyntheticTxn> {
    Generator::new(GenConfig {
        seed,
        ..GenConfig::default()
    })
    .take(n)
    .collect()
}

/// Luhn, the textbook way: double every second digit from the right, including the check.
fn luhn_ok(number: &str) -> bool {
    let digits: Vec<u32> = number
        .chars()
        .filter(|c| *c != ' ' && *c != '-')
        .map(|c| c.to_digit(10))
        .collect::<Option<Vec<_>>>()
        .unwrap_or_default();
    if digits.len() < 12 {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 1 {
                (d * 2) / 10 + (d * 2) % 10
            } else {
                *d
            }
        })
        .sum();
    matches!(sum % 10, 0)
}

/// ISO 13616: move the first four characters to the end, letters to numbers, mod 97 == 1
/// (computed on the expanded decimal string in chunks).
fn iban_ok(iban: &str) -> bool {
    let compact: String = iban.chars().filter(|c| !c.is_whitespace()).collect();
    let lengths: HashMap<&str, usize> = [
        ("DE", 22),
        ("FR", 27),
        ("GB", 22),
        ("ES", 24),
        ("IT", 27),
        ("NL", 18),
        ("BE", 16),
        ("AT", 20),
        ("IE", 22),
        ("PT", 25),
        ("FI", 18),
        ("GR", 27),
        ("HR", 21),
        ("LU", 20),
        ("CH", 21),
        ("SE", 24),
        ("NO", 15),
        ("DK", 18),
        ("PL", 28),
        ("CZ", 24),
    ]
    .into_iter()
    .collect();
    if compact.len() < 5 || lengths.get(&compact[..2]) != Some(&compact.len()) {
        return false;
    }
    let rotated = format!("{}{}", &compact[4..], &compact[..4]);
    let mut expanded = String::new();
    for c in rotated.chars() {
        if c.is_ascii_digit() {
            expanded.push(c);
        } else if c.is_ascii_uppercase() {
            expanded.push_str(&(c as u32 - 'A' as u32 + 10).to_string());
        } else {
            return false;
        }
    }
    let mut rem: u64 = 0;
    for chunk in expanded.as_bytes().chunks(7) {
        let part = std::str::from_utf8(chunk).expect("ASCII digits");
        rem = format!("{rem}{part}")
            .parse::<u64>()
            .expect("at most 9 digits fit in u64")
            % 97;
    }
    rem == 1
}

#[test]
fn same_seed_same_stream() {
    let a: Vec<String> = stream(7, 5_000)
        .iter()
        .map(|t| serde_json::to_string(t).unwrap())
        .collect();
    let b: Vec<String> = stream(7, 5_000)
        .iter()
        .map(|t| serde_json::to_string(t).unwrap())
        .collect();
    assert_eq!(a, b);
}

#[test]
fn different_seeds_differ() {
    let a = stream(1, 200);
    let b = stream(2, 200);
    let same = a
        .iter()
        .zip(&b)
        .filter(|(x, y)| x.account_id == y.account_id && x.amount == y.amount)
        .count();
    assert!(same < 5, "{same} identical records");
    assert_ne!(a[0].transaction_id, b[0].transaction_id);
}

#[test]
fn records_are_well_formed_and_ordered() {
    let txns = stream(11, 30_000);
    let mut ids = HashSet::new();
    let mut last = None;
    for t in &txns {
        assert!(ids.insert(t.transaction_id.clone()), "duplicate id");
        assert!(t.timestamp.ends_with('Z'), "{}", t.timestamp);
        let ts = DateTime::parse_from_rfc3339(&t.timestamp).expect("RFC 3339");
        if let Some(prev) = last {
            assert!(ts >= prev, "out of order at {}", t.transaction_id);
        }
        last = Some(ts);
        let (units, cents) = t.amount.split_once('.').expect("decimal amount");
        assert!(units.bytes().all(|b| b.is_ascii_digit()) && !units.is_empty());
        assert!(cents.len() == 2 && cents.bytes().all(|b| b.is_ascii_digit()));
        assert!(t.amount.parse::<f64>().unwrap() > 0.0);
        assert!(t.mcc.len() == 4 && t.mcc.bytes().all(|b| b.is_ascii_digit()));
        assert!(t.country.len() == 2 && t.country.bytes().all(|b| b.is_ascii_uppercase()));
        assert!(t.currency.len() == 3 && t.currency.bytes().all(|b| b.is_ascii_uppercase()));
        assert!(["card_present", "online", "atm", "transfer"].contains(&t.channel.as_str()));
        assert_eq!(t.label.fraud, t.label.pattern.is_some());
        match t.channel.as_str() {
            "transfer" => assert!(t.card_number.is_none()),
            _ => assert!(t.card_number.is_some() && t.iban.is_none()),
        }
    }
    let accounts: HashSet<&str> = txns.iter().map(|t| t.account_id.as_str()).collect();
    assert!(accounts.len() > 3_000, "{} accounts", accounts.len());
    let currencies: HashSet<&str> = txns.iter().map(|t| t.currency.as_str()).collect();
    for c in ["EUR", "GBP", "USD", "CHF", "SEK", "PLN", "JPY"] {
        assert!(currencies.contains(c), "{c} missing");
    }
}

#[test]
fn cards_and_ibans_have_valid_check_digits() {
    let txns = stream(3, 30_000);
    let (mut cards, mut ibans) = (0, 0);
    for t in &txns {
        if let Some(c) = &t.card_number {
            assert!(luhn_ok(c), "card {c}");
            cards += 1;
        }
        if let Some(i) = &t.iban {
            assert!(iban_ok(i), "iban {i}");
            ibans += 1;
        }
        for p in &t.label.pii {
            match p.kind.as_str() {
                "card_number" => assert!(luhn_ok(&p.text), "card in description {}", p.text),
                "iban" => assert!(iban_ok(&p.text), "iban in description {}", p.text),
                _ => {}
            }
        }
    }
    assert!(
        cards > 20_000 && ibans > 500,
        "{cards} cards, {ibans} ibans"
    );
}

#[test]
fn pii_labels_point_at_their_text() {
    let txns = stream(5, 30_000);
    let mut kinds: HashMap<String, usize> = HashMap::new();
    let mut with_pii = 0;
    for t in &txns {
        if t.label.pii.is_empty() {
            continue;
        }
        with_pii += 1;
        let d = t.description.as_deref().expect("PII implies a description");
        let mut prev_end = 0;
        for p in &t.label.pii {
            assert_eq!(p.field, "description");
            assert!(p.start < p.end && p.end <= d.len());
            assert!(d.is_char_boundary(p.start) && d.is_char_boundary(p.end));
            assert_eq!(&d[p.start..p.end], p.text, "in {d:?}");
            assert!(p.start >= prev_end, "overlapping spans in {d:?}");
            prev_end = p.end;
            *kinds.entry(p.kind.clone()).or_default() += 1;
        }
    }
    for k in [
        "email",
        "phone",
        "card_number",
        "iban",
        "national_id",
        "person_name",
    ] {
        assert!(kinds.get(k).copied().unwrap_or(0) > 200, "{k}: {kinds:?}");
    }
    let share = with_pii as f64 / txns.len() as f64;
    assert!((share - 0.3).abs() < 0.02, "PII share {share}");
    // Non-ASCII text around and inside spans (byte offsets differ from char offsets).
    assert!(txns.iter().any(
        |t| !t.label.pii.is_empty() && t.description.as_deref().is_some_and(|d| !d.is_ascii())
    ));
}

#[test]
fn fraud_share_tracks_fraud_rate() {
    let txns = stream(13, 100_000);
    let fraud = txns.iter().filter(|t| t.label.fraud).count();
    let share = fraud as f64 / txns.len() as f64;
    assert!((share - 0.02).abs() < 0.003, "fraud share {share}");
    let patterns: HashSet<Pattern> = txns.iter().filter_map(|t| t.label.pattern).collect();
    assert_eq!(patterns.len(), Pattern::ALL.len());

    for rate in [0.0, 0.1] {
        let txns: Vec<SyntheticTxn> = Generator::new(GenConfig {
            seed: 17,
            fraud_rate: rate,
            ..GenConfig::default()
        })
        .take(20_000)
        .collect();
        let share = txns.iter().filter(|t| t.label.fraud).count() as f64 / 20_000.0;
        assert!((share - rate).abs() < 0.01, "rate {rate}: share {share}");
    }
}

#[test]
fn patterns_have_their_shape() {
    let txns = stream(21, 100_000);
    let mut by_account: HashMap<(&str, Pattern), Vec<&SyntheticTxn>> = HashMap::new();
    for t in &txns {
        if let Some(p) = t.label.pattern {
            by_account.entry((&t.account_id, p)).or_default().push(t);
        }
        match t.label.pattern {
            Some(Pattern::CardTesting) => {
                assert_eq!(t.channel, "online");
                if ["EUR", "GBP", "USD", "CHF"].contains(&t.currency.as_str()) {
                    let a: f64 = t.amount.parse().unwrap();
                    assert!((0.5..=2.0).contains(&a), "{}", t.amount);
                }
            }
            Some(Pattern::Structuring) => {
                assert!(t.channel == "atm" || t.channel == "transfer");
                if ["EUR", "GBP", "USD", "CHF"].contains(&t.currency.as_str()) {
                    let a: f64 = t.amount.parse().unwrap();
                    assert!((9_000.0..10_000.0).contains(&a), "{}", t.amount);
                }
            }
            Some(Pattern::ImpossibleTravel) => {
                assert!(t.channel == "card_present" || t.channel == "atm");
            }
            _ => {}
        }
    }
    // Card-testing bursts: split an account's records into episodes at gaps over 5 minutes
    // (episodes on one account are at least an hour apart).
    let mut bursts = 0;
    for ((_, p), records) in &by_account {
        if *p != Pattern::CardTesting {
            continue;
        }
        let times: Vec<_> = records
            .iter()
            .map(|r| DateTime::parse_from_rfc3339(&r.timestamp).unwrap())
            .collect();
        let mut size = 1;
        for w in times.windows(2) {
            let gap = (w[1] - w[0]).num_seconds();
            if gap > 300 {
                assert!((5..=15).contains(&size), "burst of {size}");
                bursts += 1;
                size = 1;
            } else {
                assert!(gap <= 90, "charges {gap} s apart");
                size += 1;
            }
        }
        assert!((5..=15).contains(&size), "burst of {size}");
        bursts += 1;
    }
    assert!(bursts > 30, "{bursts} bursts");
}

#[test]
fn nights_are_quieter_than_days() {
    let txns = stream(8, 50_000);
    let mut per_hour = [0usize; 24];
    for t in &txns {
        if t.country == "DE" || t.country == "FR" {
            let ts = DateTime::parse_from_rfc3339(&t.timestamp).unwrap();
            per_hour[((ts.hour() + 1) % 24) as usize] += 1; // CET
        }
    }
    let night: usize = per_hour[1..5].iter().sum();
    let midday: usize = per_hour[11..15].iter().sum();
    assert!(midday > 8 * night, "night {night}, midday {midday}");
}

#[test]
fn tiny_worlds_work() {
    let txns: Vec<SyntheticTxn> = Generator::new(GenConfig {
        accounts: 1,
        merchants: 0,
        fraud_rate: 0.5,
        ..GenConfig::default()
    })
    .take(2_000)
    .collect();
    assert_eq!(txns.len(), 2_000);
    assert!(txns.iter().all(|t| t.account_id == txns[0].account_id));
    assert!(txns.iter().any(|t| t.label.fraud));
}
