"""Investigations/s of a `pipeline worker` fleet through the cluster LLM limit (issue 15),
driven by benches/llm_agents.sh, which builds the pipeline, starts PostgreSQL and makes the
template database of pending investigations.

    llm_agents.py BIN BASE_URL TEMPLATE_DB LATENCIES_MS LIMITS WORKERS QUEUE

For each LLM latency (ms, comma-separated) x LLM_CLUSTER_CONCURRENCY (comma-separated):
a fresh copy of TEMPLATE_DB, a STAND-IN LLM server (below) with that latency, and WORKERS
long-lived `pipeline worker` processes (not --once) until every investigation completed.
Then it scrapes every worker's /metrics and prints one Markdown table row per cell:
investigations/s, the queue-wait p50/p99 (`pipeline_llm_queue_wait_seconds`: the process
permit and the cluster slot together), the cluster-slot-wait p99, how the cases were decided,
and what the stand-in saw.

The LLM server is a STAND-IN, not a model: it speaks the chat-completions wire protocol,
answers one request at a time after the configured latency, holds QUEUE more, refuses the
rest at once with 503 (as an Ollama with OLLAMA_NUM_PARALLEL=1 and a short OLLAMA_MAX_QUEUE
does), and answers every request with a valid triage that cites the first finding its
schema lists. It measures the pipeline's pooling, not a model.
"""

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request


class StandIn:
    """The stand-in LLM server, on its own thread and event loop."""

    def __init__(self, latency_s, queue):
        self.latency, self.queue = latency_s, queue
        self.requests = self.rejected = self.active = self.max_active = 0
        self.first_request = None
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        ready.wait()

    def _run(self, ready):
        asyncio.set_event_loop(self.loop)
        self.busy = asyncio.Semaphore(1)
        server = self.loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)

    async def _serve(self, reader, writer):
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                length = 0
                while True:
                    h = await reader.readline()
                    if h in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = h.decode().partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                body = json.loads(await reader.readexactly(length) or b"null")
                self.requests += 1
                if self.first_request is None:
                    self.first_request = time.time()
                if self.active >= 1 + self.queue:
                    self.rejected += 1
                    err = {"error": {"message": "server busy, please try again. maximum pending requests exceeded"}}
                    await self._respond(writer, 503, err)
                    continue
                self.active += 1
                self.max_active = max(self.max_active, self.active)
                async with self.busy:
                    await asyncio.sleep(self.latency)
                self.active -= 1
                await self._respond(writer, 200, completion(body))
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()

    async def _respond(self, writer, status, doc):
        data = json.dumps(doc).encode()
        head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
        writer.write(head.encode() + data)
        await writer.drain()


def completion(request):
    """A valid triage, citing the first finding id the request's schema lists."""
    try:
        schema = request["response_format"]["json_schema"]["schema"]
        cite = schema["properties"]["cited_findings"]["items"]["enum"][0]
    except (KeyError, IndexError, TypeError):
        cite = "factor:pipeline_risk"
    answer = {"action": "escalate", "rationale": "stand-in answer: the amount is unusual", "cited_findings": [cite]}
    return {
        "id": "chatcmpl-standin", "object": "chat.completion", "created": 0, "model": "standin-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": json.dumps(answer)}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    }


def psql(url, sql):
    return subprocess.run(["psql", "-qAtX", url, "-c", sql], check=True, capture_output=True, text=True).stdout.strip()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def histogram(texts, name):
    """Cumulative bucket counts of `name`, summed over the workers' scrapes."""
    buckets = {}
    pat = re.compile(rf'^{name}_bucket\{{le="([^"]+)"\}} (\S+)$')
    for text in texts:
        for line in text.splitlines():
            m = pat.match(line)
            if m:
                le = float("inf") if m.group(1) == "+Inf" else float(m.group(1))
                buckets[le] = buckets.get(le, 0) + float(m.group(2))
    return sorted(buckets.items())


def quantile(buckets, q):
    """histogram_quantile(): linear within the bucket, as Prometheus computes it."""
    if not buckets or buckets[-1][1] == 0:
        return None
    rank, prev_le, prev_n = q * buckets[-1][1], 0.0, 0.0
    for le, n in buckets:
        if n >= rank:
            if le == float("inf"):
                return prev_le
            return prev_le + (le - prev_le) * (rank - prev_n) / max(n - prev_n, 1e-9)
        prev_le, prev_n = le, n
    return prev_le


def counter(texts, name):
    out = {}
    pat = re.compile(rf'^{name}_total\{{\w+="([^"]+)"\}} (\S+)$')
    for text in texts:
        for line in text.splitlines():
            m = pat.match(line)
            if m:
                out[m.group(1)] = out.get(m.group(1), 0) + int(float(m.group(2)))
    return out


def cell(bin_, base, template, latency_ms, limit, workers, queue, key):
    db = f"bench_llm_{latency_ms}_{limit}"
    admin = f"{base}/postgres"
    psql(admin, f"DROP DATABASE IF EXISTS {db}")
    psql(admin, f"CREATE DATABASE {db} TEMPLATE {template}")
    url = f"{base}/{db}"
    total = int(psql(url, "SELECT count(*) FROM workflows WHERE kind = 'investigation'"))
    llm = StandIn(latency_ms / 1000, queue)
    ports = [free_port() for _ in range(workers)]
    procs, logs = [], os.environ.get("BENCH_LOGS", "/tmp")
    for i, port in enumerate(ports):
        env = dict(os.environ, DATABASE_URL=url, ENCRYPTION_KEY=key, HTTP_PORT=str(port), LOG_LEVEL="WARN",
                   LLM_URL=f"http://127.0.0.1:{llm.port}", LLM_MODEL="standin-model",
                   LLM_CLUSTER_CONCURRENCY=str(limit), LLM_MAX_CONCURRENCY="1",
                   LLM_QUEUE_TIMEOUT="120s", LLM_TIMEOUT="60s",
                   AUDIT_WINDOW_MINUTES="0", WORKFLOW_POLL_INTERVAL="50ms")
        log = open(os.path.join(logs, f"worker-{latency_ms}-{limit}-{i}.log"), "w")
        procs.append(subprocess.Popen([bin_, "worker", "--worker-id", f"bench-{i}"], env=env,
                                      stdout=subprocess.DEVNULL, stderr=log))
    deadline = time.time() + 600
    while True:
        done = int(psql(url, "SELECT count(*) FROM workflows WHERE kind = 'investigation' AND status <> 'runnable'"))
        if done >= total:
            break
        if time.time() > deadline or any(p.poll() is not None for p in procs):
            for p in procs:
                p.kill()
            sys.exit(f"cell {latency_ms} ms x {limit}: {done}/{total} after the deadline or a worker exited")
        time.sleep(0.2)
    last = float(psql(url, "SELECT extract(epoch FROM max(completed_at)) FROM workflows WHERE kind = 'investigation'"))
    scrapes = [urllib.request.urlopen(f"http://127.0.0.1:{p}/metrics", timeout=10).read().decode() for p in ports]
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(timeout=30)
    llm.stop()
    by = dict(tuple(r.split("|")) for r in psql(url, "SELECT decided_by, count(*) FROM investigation_cases GROUP BY 1").splitlines())
    failed = int(psql(url, "SELECT count(*) FROM workflows WHERE kind = 'investigation' AND status = 'failed'"))
    psql(admin, f"DROP DATABASE {db}")
    wait = histogram(scrapes, "pipeline_llm_queue_wait_seconds")
    slot = histogram(scrapes, "pipeline_llm_cluster_slot_wait_seconds")
    calls = counter(scrapes, "pipeline_llm_calls")
    retries = counter(scrapes, "pipeline_llm_retries")
    secs = last - llm.first_request
    ms = lambda v: "n/a" if v is None else f"{v * 1000:.0f}"
    return (f"| {latency_ms} | {limit} | {total} | {secs:.1f} | {total / secs:.2f} | "
            f"{ms(quantile(wait, .5))} | {ms(quantile(wait, .99))} | {ms(quantile(slot, .99))} | "
            f"{by.get('llm', 0)}/{sum(int(v) for v in by.values())} | {calls.get('failed', 0)} | "
            f"{sum(retries.values())} | {llm.max_active} | {llm.rejected} | {failed} |")


def main():
    bin_, base, template = sys.argv[1], sys.argv[2], sys.argv[3]
    latencies = [int(x) for x in sys.argv[4].split(",")]
    limits = [int(x) for x in sys.argv[5].split(",")]
    workers, queue = int(sys.argv[6]), int(sys.argv[7])
    key = os.environ["ENCRYPTION_KEY"]
    print(f"{workers} workers (LLM_MAX_CONCURRENCY=1 each); stand-in: 1 request at a time, queue {queue}")
    print("| LLM latency (ms) | LLM_CLUSTER_CONCURRENCY | investigations | s | investigations/s "
          "| queue wait p50 (ms) | queue wait p99 (ms) | slot wait p99 (ms) | decided by LLM "
          "| failed calls | retries | max at server | 503s | failed workflows |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for latency in latencies:
        for limit in limits:
            print(cell(bin_, base, template, latency, limit, workers, queue, key), flush=True)


if __name__ == "__main__":
    main()
