//! Prints synthetic transactions as JSON lines: `cargo run -p pfm-synth --example dump -- [COUNT] [SEED]`.

use std::io::{BufWriter, Write};

use pfm_synth::{GenConfig, Generator};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(20);
    let seed: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(42);
    let out = std::io::stdout();
    let mut out = BufWriter::new(out.lock());
    for txn in Generator::new(GenConfig {
        seed,
        ..GenConfig::default()
    })
    .take(count)
    {
        serde_json::to_writer(&mut out, &txn)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}
