//! Rough throughput check (ignored by default; run in release):
//! `cargo test -p pfm-pii --release --test throughput -- --ignored --nocapture`

use std::time::Instant;

use pfm_pii::Scrubber;

const DESCRIPTIONS: &[(&str, Option<&str>)] = &[
    (
        "POS PURCHASE TESCO STORES 3312 LONDON GB",
        Some("Alice Walker"),
    ),
    ("Coffee 4.50 EUR Starbucks", None),
    (
        "SEPA transfer rent March 2024 ref 2024-03-01",
        Some("Jörg Müller"),
    ),
    (
        "Refund to john.smith@example.com for order 123456",
        Some("John Smith"),
    ),
    ("AMZN Mktp DE*2K4L91 amzn.de/pay", None),
    ("Card 4111 1111 1111 1111 declined at 12:30", None),
    (
        "Transfer from Jane Doe IBAN GB82 WEST 1234 5698 7654 32",
        Some("Jane Doe"),
    ),
    ("Uber trip help +1 (415) 555-2671", None),
    ("Netflix.com subscription 15.99", Some("María José García")),
    ("ATM withdrawal 200.00 GBP 2024-01-15 10:30", None),
];

#[test]
#[ignore = "timing; run explicitly in release"]
fn throughput() {
    let s = Scrubber::new();
    let rounds = 50_000;
    let start = Instant::now();
    let mut found = 0usize;
    for _ in 0..rounds {
        for (text, name) in DESCRIPTIONS {
            found += s.find(std::hint::black_box(text), *name).len();
        }
    }
    let n = rounds * DESCRIPTIONS.len();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "find: {n} records in {secs:.3}s = {:.0} records/s, {:.2} µs/record ({found} spans)",
        n as f64 / secs,
        secs * 1e6 / n as f64
    );
    let start = Instant::now();
    for _ in 0..rounds {
        for (text, name) in DESCRIPTIONS {
            std::hint::black_box(s.scrub(text, *name));
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!("scrub: {:.0} records/s", n as f64 / secs);
}
