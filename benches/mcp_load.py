"""Load on `pipeline mcp --http` with the official MCP Python SDK (issue 14 §2 "Load").

    mcp_load.py URL TOKEN CLIENTS CALLS TXN_IDS_FILE ACCOUNT_IDS_FILE [SEED]

CLIENTS concurrent sessions each make CALLS tool calls, alternating explain_decision (a
random transaction id of TXN_IDS_FILE, one per line) and search_decisions (a random account
of ACCOUNT_IDS_FILE, limit 100, half of them with decision=deny). Prints one JSON line:
errors, and client-side p50/p99 in ms per tool (the client's own time included: on a small
machine the Python client is much of it; the server-side figures come from
mcp_audit.duration_ms, see benches/mcp_load.sh).
"""

import asyncio
import json
import os
import random
import sys
import time

import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client


async def one_client(url, token, calls, txns, accounts, lat, errors, rng):
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        async with streamable_http_client(url, http_client=http) as (read, write):
            async with ClientSession(read, write) as s:
                await s.initialize()
                for i in range(calls):
                    if i % 2 == 0:
                        tool, args = "explain_decision", {"transaction_id": rng.choice(txns)}
                    else:
                        args = {"account_id": rng.choice(accounts), "limit": 100}
                        if rng.random() < 0.5:
                            args["decision"] = "deny"
                        tool = "search_decisions"
                    t = time.perf_counter()
                    try:
                        r = await s.call_tool(tool, args)
                        if r.is_error:
                            errors.append(f"{tool}: " + " ".join(getattr(c, "text", "") for c in r.content))
                    except Exception as e:
                        errors.append(f"{tool}: {e}")
                    lat[tool].append((time.perf_counter() - t) * 1000)


def pct(xs, p):
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(len(xs) * p))], 2) if xs else None


async def main():
    url, token = sys.argv[1], sys.argv[2]
    clients, calls = int(sys.argv[3]), int(sys.argv[4])
    txns = [l.strip() for l in open(sys.argv[5]) if l.strip()]
    accounts = [l.strip() for l in open(sys.argv[6]) if l.strip()]
    seed = int(sys.argv[7]) if len(sys.argv) > 7 else 0
    lat = {"explain_decision": [], "search_decisions": []}
    errors = []
    t0 = time.perf_counter()
    await asyncio.gather(*(
        one_client(url, token, calls, txns, accounts, lat, errors, random.Random(seed * 1000 + i))
        for i in range(clients)
    ))
    wall = time.perf_counter() - t0
    print(json.dumps({
        "clients": clients, "calls": clients * calls, "errors": len(errors),
        "first_errors": errors[:3], "seconds": round(wall, 1),
        "calls_per_second": round(clients * calls / wall, 1),
        "client_ms": {k: {"p50": pct(v, 0.5), "p99": pct(v, 0.99), "n": len(v)} for k, v in lat.items()},
        # MCP_LOAD_SAMPLES=1: every latency, for combining the percentiles of several processes.
        **({"samples_ms": lat} if os.environ.get("MCP_LOAD_SAMPLES") == "1" else {}),
    }))


asyncio.run(main())
