"""A client no one here wrote: the official MCP Python SDK (`mcp` on PyPI) against
`pipeline mcp`, for tests/mcp_server.rs.

    mcp_client.py stdio PIPELINE_BIN ARGS_JSON   (the server's env is inherited)
    mcp_client.py http  URL TOKEN ARGS_JSON

ARGS_JSON names known ids: {"txn": ..., "account": ..., "deny_txn": ...}. Lists the tools
and resources, calls every tool with good and bad arguments, and prints one JSON report on
stdout: {"tools": [...], "resources": [...], "calls": {label: {is_error, structured, text}}}.
Over HTTP it also reports the status of requests without a token, with a wrong token and
with a foreign Origin. The Rust side checks the answers against the database.
"""

import asyncio
import json
import os
import sys

import httpx2
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client


def summarise(result):
    text = " ".join(getattr(c, "text", "") for c in (result.content or []))
    return {
        "is_error": bool(result.is_error),
        "structured": result.structured_content,
        "text": text,
    }


async def exercise(session, ids):
    report = {"calls": {}}
    init = await session.initialize()
    report["server"] = init.server_info.name
    tools = await session.list_tools()
    report["tools"] = sorted(t.name for t in tools.tools)
    resources = await session.list_resources()
    report["resources"] = sorted(str(r.uri) for r in resources.resources)
    for uri in report["resources"]:
        read = await session.read_resource(uri)
        report.setdefault("resource_text", {})[uri] = read.contents[0].text[:200000]

    policy_input = {
        "transaction": {
            "id": "t-eval", "account_id": "acct-eval", "timestamp": "2026-01-01T00:00:00Z",
            "amount": 12.5, "amount_text": "12.50", "currency": "EUR", "merchant": "Shop",
            "mcc": "5411", "country": "DE", "channel": "online", "category": "groceries",
        },
        "risk": {"findings": [], "max_score": 0.0},
        "pii": {"description_kinds": []},
    }
    risky = json.loads(json.dumps(policy_input))
    risky["risk"] = {
        "findings": [{"detector": "velocity", "score": 0.99, "reason": "burst"}],
        "max_score": 0.99,
    }
    calls = [
        ("evaluate_ok", "evaluate_policy", {"input": policy_input}),
        ("evaluate_risky", "evaluate_policy", {"input": risky}),
        ("evaluate_bad_shape", "evaluate_policy", {"input": {"foo": 1}}),
        ("evaluate_wrong_type", "evaluate_policy", {"input": "not an object"}),
        ("explain_ok", "explain_decision", {"transaction_id": ids["txn"]}),
        ("explain_deny", "explain_decision", {"transaction_id": ids["deny_txn"]}),
        ("explain_unknown", "explain_decision", {"transaction_id": "no-such-transaction"}),
        ("explain_missing_arg", "explain_decision", {}),
        ("explain_wrong_type", "explain_decision", {"transaction_id": 42}),
        ("search_account", "search_decisions", {"account_id": ids["account"], "limit": 1000}),
        ("search_page1", "search_decisions", {"limit": 7}),
        ("search_deny", "search_decisions", {"decision": "deny", "limit": 1000}),
        ("search_reason", "search_decisions", {"reason": ids["reason"], "limit": 1000}),
        ("search_window", "search_decisions",
         {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z", "limit": 3}),
        ("search_limit_too_large", "search_decisions", {"limit": 1001}),
        ("search_bad_range", "search_decisions",
         {"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}),
        ("search_bad_decision", "search_decisions", {"decision": "maybe"}),
        ("search_bad_cursor", "search_decisions", {"cursor": "abc"}),
        ("search_sql_injection", "search_decisions", {"account_id": "x' OR '1'='1"}),
        ("verify_all", "verify_audit_chain", {}),
        ("verify_range", "verify_audit_chain", {"from_seq": 2, "to_seq": 5}),
        ("verify_bad_range", "verify_audit_chain", {"from_seq": 5, "to_seq": 2}),
        ("verify_past_head", "verify_audit_chain", {"to_seq": 10**12}),
        ("verify_wrong_type", "verify_audit_chain", {"from_seq": "one"}),
        ("summary_ok", "compliance_summary", {"window": "3650d" if False else "366d"}),
        ("summary_bad_window", "compliance_summary", {"window": "forever"}),
        ("investigation", "get_investigation", {"transaction_id": ids["txn"]}),
        ("lineage_ok", "record_lineage", {"transaction_id": ids["txn"]}),
        ("lineage_unknown", "record_lineage", {"transaction_id": "no-such-transaction"}),
        ("lineage_both_args", "record_lineage",
         {"transaction_id": ids["txn"], "source_position": "orders:0:1"}),
        ("unknown_tool", "drop_tables", {}),
    ]
    for label, tool, args in calls:
        try:
            result = await session.call_tool(tool, args)
            report["calls"][label] = summarise(result)
        except Exception as e:  # a protocol error: reported, never a crash
            report["calls"][label] = {"is_error": True, "protocol_error": str(e)}
    # The next page of search_page1, by its cursor.
    cursor = (report["calls"]["search_page1"].get("structured") or {}).get("next_cursor")
    if cursor:
        result = await session.call_tool("search_decisions", {"limit": 7, "cursor": cursor})
        report["calls"]["search_page2"] = summarise(result)
    return report


async def over_stdio(binary, ids):
    params = StdioServerParameters(command=binary, args=["mcp"], env=dict(os.environ))
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            return await exercise(session, ids)


async def over_http(url, token, ids):
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"},
                                  timeout=30) as client:
        async with streamable_http_client(url, http_client=client) as (read, write):
            async with ClientSession(read, write) as session:
                report = await exercise(session, ids)
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    headers = {"Accept": "application/json, text/event-stream"}
    async with httpx2.AsyncClient(timeout=10) as raw:
        report["status_no_token"] = (await raw.post(url, json=body, headers=headers)).status_code
        report["status_wrong_token"] = (await raw.post(
            url, json=body, headers={**headers, "Authorization": "Bearer wrong-token-0000000000"}
        )).status_code
        report["status_foreign_origin"] = (await raw.post(
            url, json=body,
            headers={**headers, "Authorization": f"Bearer {token}", "Origin": "https://evil.example"},
        )).status_code
        report["status_bad_host"] = (await raw.post(
            url, json=body,
            headers={**headers, "Authorization": f"Bearer {token}", "Host": "evil.example"},
        )).status_code
        big = {"jsonrpc": "2.0", "id": 2, "method": "ping", "params": {"pad": "x" * 2_000_000}}
        report["status_too_large"] = (await raw.post(
            url, json=big, headers={**headers, "Authorization": f"Bearer {token}"}
        )).status_code
    return report


def main():
    mode = sys.argv[1]
    if mode == "stdio":
        report = asyncio.run(over_stdio(sys.argv[2], json.loads(sys.argv[3])))
    elif mode == "http":
        report = asyncio.run(over_http(sys.argv[2], sys.argv[3], json.loads(sys.argv[4])))
    else:
        sys.exit(f"unknown mode {mode}")
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
