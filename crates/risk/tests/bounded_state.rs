//! The per-account state stays small however many events an account has, and survives JSON
//! round-trips without changing any verdict.

use chrono::{DateTime, Utc};
use pfm_risk::{AccountState, Channel, RiskConfig, RiskEngine, TxnFeatures};

/// xorshift64*: a tiny deterministic source of variety for the test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const CHANNELS: [Channel; 4] = [
    Channel::CardPresent,
    Channel::Online,
    Channel::Atm,
    Channel::Transfer,
];
const COUNTRIES: [&str; 8] = ["DE", "FR", "JP", "US", "BR", "ZZ", "SE", "AU"];
const CURRENCIES: [&str; 5] = ["EUR", "USD", "JPY", "SEK", "XXX"];
const MERCHANTS: [&str; 6] = ["a", "b", "c", "d", "e", "f"];

/// A hostile mix for one account: bursts (seconds apart), quiet spells, tiny and huge
/// amounts, many countries and currencies, near-threshold cash.
fn events(n: usize) -> Vec<(i64, f64, usize, usize, usize, usize)> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut t = 1_767_225_600_000i64;
    (0..n)
        .map(|_| {
            t += match rng.below(10) {
                0..=5 => 1_000 + rng.below(60_000) as i64,
                6..=8 => rng.below(3_600_000) as i64,
                _ => rng.below(86_400_000) as i64,
            };
            let amount = match rng.below(5) {
                0 => 0.5 + rng.below(200) as f64 / 100.0,
                1 => 9_000.0 + rng.below(1_000) as f64,
                2 => 20_000.0,
                _ => 1.0 + rng.below(20_000) as f64 / 100.0,
            };
            (
                t,
                amount,
                rng.below(4) as usize,
                rng.below(8) as usize,
                rng.below(5) as usize,
                rng.below(6) as usize,
            )
        })
        .collect()
}

fn features(e: &(i64, f64, usize, usize, usize, usize)) -> TxnFeatures<'static> {
    TxnFeatures {
        account_id: "acct-bounded",
        timestamp: DateTime::<Utc>::from_timestamp_millis(e.0).unwrap_or_default(),
        amount: e.1,
        currency: CURRENCIES[e.4],
        country: COUNTRIES[e.3],
        channel: CHANNELS[e.2],
        mcc: 5999,
        merchant: MERCHANTS[e.5],
        // Varied payees, so the fan-out window fills as well.
        counterparty: Some(MERCHANTS[(e.5 + e.3) % MERCHANTS.len()]),
    }
}

#[test]
fn state_stays_bounded_after_100k_events() {
    let engine = RiskEngine::new(RiskConfig::default());
    let mut state = AccountState::default();
    let mut max_json = 0usize;
    let mut max_events = 0usize;
    let mut findings = 0usize;
    for (i, e) in events(100_000).iter().enumerate() {
        findings += engine.assess(&mut state, &features(e)).len();
        max_events = max_events.max(state.held_events());
        if i % 1_000 == 0 {
            let json = serde_json::to_string(&state).unwrap();
            max_json = max_json.max(json.len());
        }
    }
    println!("max held events {max_events}, max JSON {max_json} bytes, {findings} findings");
    assert!(findings > 1_000, "the mix should trigger detectors");
    assert!(
        max_events <= 32 + 64 + 8 + 32 + 32 + 32,
        "{max_events} events held"
    );
    assert!(max_json < 8 * 1024, "{max_json} bytes of JSON");
}

#[test]
fn json_round_trips_do_not_change_verdicts() {
    let engine = RiskEngine::new(RiskConfig::default());
    let mut kept = AccountState::default();
    let mut reloaded = AccountState::default();
    for e in events(20_000).iter() {
        let f = features(e);
        let a = engine.assess(&mut kept, &f);
        let b = engine.assess(&mut reloaded, &f);
        assert_eq!(a, b);
        let json = serde_json::to_string(&reloaded).unwrap();
        reloaded = serde_json::from_str(&json).unwrap();
    }
    // An empty or older (missing fields) serialised state is accepted.
    let _: AccountState = serde_json::from_str("{}").unwrap();
    let _: AccountState = serde_json::from_str(r#"{"velocity":{"recent":[]}}"#).unwrap();
}

/// The fan-in index, keyed on beneficiaries that many accounts share, stays within its bounds
/// in total under a load far beyond them: 1,000,000 qualifying transfers from 200,000 accounts
/// to 150,000 beneficiaries, a few seconds apart. Prints the counts behind the memory figure
/// in docs/benchmarks.md.
#[test]
fn the_beneficiary_index_stays_bounded_under_load() {
    let engine = RiskEngine::new(RiskConfig::default());
    let cfg = &engine.config().fan_in;
    let mut index = pfm_risk::BeneficiaryIndex::default();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut t = 1_767_225_600i64;
    let (mut peak, mut peak_payments, mut findings) = (0, 0, 0usize);
    for i in 0..1_000_000 {
        t += rng.below(5) as i64;
        let from = format!("acct-{}", rng.below(200_000));
        // A few hot beneficiaries (mules) among many cold ones.
        let to = if rng.below(100) == 0 {
            format!("mule-{}", rng.below(50))
        } else {
            format!("benef-{}", rng.below(150_000))
        };
        let txn = TxnFeatures {
            account_id: &from,
            timestamp: DateTime::<Utc>::from_timestamp(t, 0).expect("in range"),
            amount: 900.0,
            currency: "EUR",
            country: "DE",
            channel: Channel::Transfer,
            mcc: 4829,
            merchant: "Outgoing transfer",
            counterparty: Some(&to),
        };
        findings += usize::from(engine.assess_beneficiary(&mut index, &txn).is_some());
        peak = peak.max(index.len());
        if i % 1_000 == 0 {
            peak_payments = peak_payments.max(index.payments());
        }
    }
    println!(
        "beneficiaries at most {peak} (bound {}), payments at most {peak_payments} (bound {}), \
         findings {findings}",
        cfg.max_beneficiaries,
        cfg.max_beneficiaries * cfg.max_payments
    );
    assert!(peak <= cfg.max_beneficiaries);
    assert!(peak_payments <= cfg.max_beneficiaries * cfg.max_payments);
    assert!(
        findings > 0,
        "the hot beneficiaries are still found under eviction"
    );
}
