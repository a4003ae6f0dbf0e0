"""Load on `pipeline mcp --http` with the official MCP Python SDK (issue 14 §2 "Load").

    mcp_load.py URL TOKEN CLIENTS CALLS MAX_SEQ ACCOUNTS

CLIENTS concurrent sessions each make CALLS tool calls, alternating explain_decision (a
random txn-N, N <= MAX_SEQ) and search_decisions (a random acct-M, M < ACCOUNTS, limit 100,
half of them with decision=deny). Prints one JSON line: errors, and client-side p50/p99 in
ms per tool (the client's own time included: on a small machine the Python client is much
of it; the server-side figures come from mcp_audit.duration_ms, see benches/mcp_load.sh).
"""

import asyncio
import json
import random
import sys
import time

import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client


async def one_client(url, token, calls, max_seq, accounts, lat, errors, rng):
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        async with streamable_http_client(url, http_client=http) as (read, write):
            async with ClientSession(read, write) as s:
                await s.initialize()
                for i in range(calls):
                    if i % 2 == 0:
                        tool, args = "explain_decision", {"transaction_id": f"txn-{rng.randint(1, max_seq)}"}
                    else:
                        args = {"account_id": f"acct-{rng.randrange(accounts)}", "limit": 100}
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
    clients, calls, max_seq, accounts = (int(x) for x in sys.argv[3:7])
    lat = {"explain_decision": [], "search_decisions": []}
    errors = []
    t0 = time.perf_counter()
    await asyncio.gather(*(
        one_client(url, token, calls, max_seq, accounts, lat, errors, random.Random(i))
        for i in range(clients)
    ))
    wall = time.perf_counter() - t0
    print(json.dumps({
        "clients": clients, "calls": clients * calls, "errors": len(errors),
        "first_errors": errors[:3], "seconds": round(wall, 1),
        "calls_per_second": round(clients * calls / wall, 1),
        "client_ms": {k: {"p50": pct(v, 0.5), "p99": pct(v, 0.99), "n": len(v)} for k, v in lat.items()},
    }))


asyncio.run(main())
