//! The client's ceiling on a broker: a bare rdkafka consumer that reads N messages of a topic
//! from the beginning and does nothing else. Used by benches/kafka.sh.
//!
//!   cargo run --release --example kafka_consume_rate -- BOOTSTRAP TOPIC N

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, bootstrap, topic, n] = args.as_slice() else {
        return Err("usage: kafka_consume_rate BOOTSTRAP TOPIC N".into());
    };
    let n: u64 = n.parse()?;
    let group = format!("consume-rate-{}", std::process::id());
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", &group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()?;
    consumer.subscribe(&[topic])?;
    let mut seen = 0u64;
    let mut bytes = 0usize;
    let mut first: Option<Instant> = None;
    let deadline = Instant::now() + Duration::from_secs(600);
    while seen < n && Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(500)) {
            Some(Ok(m)) => {
                first.get_or_insert_with(Instant::now);
                seen += 1;
                bytes += rdkafka::Message::payload(&m).map_or(0, <[u8]>::len);
            }
            Some(Err(e)) => eprintln!("poll error: {e}"),
            None => {}
        }
    }
    let secs = first.map_or(0.0, |t| t.elapsed().as_secs_f64());
    println!(
        "{}",
        serde_json::json!({
            "messages": seen,
            "bytes": bytes,
            "seconds": (secs * 1000.0).round() / 1000.0,
            "messages_per_second": if secs > 0.0 { (seen as f64 / secs).round() } else { 0.0 },
        })
    );
    Ok(())
}
