"""Independent Kafka client for the tests (kafka-python, not librdkafka: it shares no code
with the pipeline's client).

  kafka_tools.py lag BOOTSTRAP GROUP TOPIC
      the group's lag from the broker's own offsets, as JSON:
      {"lag": total, "partitions": {p: {"end": e, "committed": c}}}; a partition the group
      never committed counts from its beginning offset.
  kafka_tools.py produce-lines BOOTSTRAP TOPIC < lines
      each stdin line (raw bytes, may be invalid JSON or UTF-8) as one message, one per
      produce request (tansu 0.6 mis-serves fetches inside multi-record batches).
  kafka_tools.py produce-json BOOTSTRAP < lines
      each stdin line {"topic", "partition", "key", "value", "headers": {k: v}} as one message
      (to stand in for a relay that sent messages and died before recording it).
  kafka_tools.py dump BOOTSTRAP TOPIC
      every message of the topic as JSON lines:
      {"partition", "offset", "key", "headers": {k: v}, "value"}.
"""
import json
import sys
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition


def lag(bootstrap: str, group: str, topic: str) -> None:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             api_version_auto_timeout_ms=10000)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        partitions = sorted(consumer.partitions_for_topic(topic) or [])
        tps = [TopicPartition(topic, p) for p in partitions]
        end = consumer.end_offsets(tps)
        begin = consumer.beginning_offsets(tps)
        committed = admin.list_consumer_group_offsets(group, partitions=tps)
        out = {}
        total = 0
        for tp in tps:
            meta = committed.get(tp)
            c = meta.offset if meta is not None and meta.offset is not None and meta.offset >= 0 else None
            start = c if c is not None else begin[tp]
            total += max(end[tp] - start, 0)
            out[tp.partition] = {"end": end[tp], "committed": c}
        print(json.dumps({"lag": total, "partitions": out}))
    finally:
        consumer.close()
        admin.close()


def produce_lines(bootstrap: str, topic: str) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=0, acks="all")
    n = 0
    for line in sys.stdin.buffer:
        producer.send(topic, value=line.rstrip(b"\n")).get(timeout=30)
        n += 1
    producer.flush()
    producer.close()
    print(json.dumps({"produced": n}))


def produce_json(bootstrap: str) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=0, acks="all")
    n = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        m = json.loads(line)
        headers = [(k, v.encode()) for k, v in m.get("headers", {}).items()]
        producer.send(m["topic"], value=m["value"].encode(), key=m["key"].encode(),
                      partition=m["partition"], headers=headers).get(timeout=30)
        n += 1
    producer.flush()
    producer.close()
    print(json.dumps({"produced": n}))


def dump(bootstrap: str, topic: str) -> None:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             auto_offset_reset="earliest", api_version_auto_timeout_ms=10000)
    try:
        partitions = sorted(consumer.partitions_for_topic(topic) or [])
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        remaining = {tp for tp in tps if end[tp] > 0}
        deadline = time.time() + 300
        while remaining and time.time() < deadline:
            for tp, msgs in consumer.poll(timeout_ms=500).items():
                for m in msgs:
                    print(json.dumps({
                        "partition": m.partition,
                        "offset": m.offset,
                        "key": m.key.decode("utf-8", "replace") if m.key is not None else None,
                        "headers": {k: (v or b"").decode("utf-8", "replace") for k, v in (m.headers or [])},
                        "value": (m.value or b"").decode("utf-8", "replace"),
                    }))
            remaining = {tp for tp in remaining if consumer.position(tp) < end[tp]}
        if remaining:
            sys.exit(f"dump of {topic} incomplete: {sorted(tp.partition for tp in remaining)}")
    finally:
        consumer.close()


def main() -> None:
    cmd, args = sys.argv[1], sys.argv[2:]
    {"lag": lag, "produce-lines": produce_lines, "produce-json": produce_json, "dump": dump}[cmd](*args)


if __name__ == "__main__":
    main()
