"""Drives `flowtrace mcp` with the official MCP Python SDK (PyPI `mcp`), a client that is not ours.

Usage: python mcp_client.py FLOWTRACE_BINARY CHAT_TRACE DEMO_CHAT_TRACE

Starts the server over stdio, lists its tools, calls each one on CHAT_TRACE (the CLI's
`tests/fixtures/chat.jsonl`), checks the structured results and the error answers, then runs the
README's "why was this request slow?" workflow on DEMO_CHAT_TRACE (a trace demo-chat wrote), and
exits 0 only when every check held. Run by `tests/mcp_client.rs` with the venv `scripts/test`
makes.
"""

import asyncio
import sys

from mcp import Client, MCPError, StdioServerParameters

TOOLS = [
    "close",
    "critical_path",
    "errors",
    "open",
    "search",
    "slowest",
    "summary",
    "timeline",
    "tree",
]


def ids(items, key="id"):
    return [item[key] for item in items]


async def call(client, name, arguments):
    """Calls a tool that must succeed and returns its structured content."""
    result = await client.call_tool(name, arguments)
    assert not result.is_error, f"{name} {arguments}: {result.content}"
    assert result.structured_content is not None, f"{name}: no structured content"
    return result.structured_content


async def refused(client, name, arguments):
    """Calls a tool that must answer with a tool error and returns the message."""
    result = await client.call_tool(name, arguments)
    assert result.is_error, f"{name} {arguments} should fail, got {result.structured_content}"
    return result.content[0].text


async def main(binary, trace, demo_chat):
    server = StdioServerParameters(command=binary, args=["mcp"])
    async with asyncio.timeout(60):
        async with Client(server) as client:
            listed = await client.list_tools()
            tools = {tool.name: tool for tool in listed.tools}
            assert sorted(tools) == TOOLS, sorted(tools)
            for name, tool in tools.items():
                assert tool.description, name
                assert tool.input_schema["type"] == "object", name
                assert tool.output_schema is not None, f"{name} has no output schema"
                required = tool.input_schema.get("required", [])
                assert ("paths" if name == "open" else "handle") in required, (name, required)
            for name in ("search", "tree", "timeline"):
                assert "trace" in tools[name].input_schema["properties"], name

            opened = await call(client, "open", {"paths": [trace]})
            handle = opened["handle"]
            assert (opened["lines"], opened["calls"], opened["openCalls"]) == (37, 18, 0), opened
            assert opened["check"]["ok"] is True, opened["check"]
            assert opened["functions"]["total"] == 11, opened["functions"]
            assert opened["spanMicros"] == 9_874, opened
            process = opened["processes"]["items"][0]
            assert (process["service"], process["pid"]) == ("gen_fixtures", 11073), process

            summary = await call(client, "summary", {"handle": handle, "sort": "p99", "limit": 3})
            rows = summary["functions"]
            assert [r["function"] for r in rows["items"]] == [
                "gen_fixtures::chat::join",
                "gen_fixtures::chat::load_history",
                "gen_fixtures::chat::presence",
            ], rows
            assert rows["items"][0]["p99Micros"] == 4_380, rows
            assert (rows["total"], rows["more"]) == (11, True), rows

            found = await call(client, "search", {"handle": handle, "function": "parse_frame"})
            assert ids(found["calls"]) == [2051, 2055, 2057], found
            failed = await call(client, "search", {"handle": handle, "event": "EXCEPTION", "limit": 2})
            assert ids(failed["calls"]) == [1, 2054] and failed["more"] is True, failed

            slowest = await call(client, "slowest", {"handle": handle, "limit": 2})
            assert [c["call"]["id"] for c in slowest["calls"]] == [1025, 1026], slowest
            assert ids(slowest["calls"][1]["path"]) == [1025, 1026], slowest

            errors = await call(client, "errors", {"handle": handle})
            groups = errors["groups"]["items"]
            assert errors["failedCalls"] == 5 and len(groups) == 5, errors
            assert (groups[0]["function"], groups[0]["event"]) == ("gen_fixtures::chat::average", "PANIC")
            assert groups[0]["example"]["call"]["error"] == "attempt to divide by zero", groups[0]

            tree = await call(client, "tree", {"handle": handle, "id": 2049, "depth": 1})
            assert ids(tree["nodes"]) == [2049, 2050, 2054, 2056, 2059], tree
            assert [n.get("sharePercent") for n in tree["nodes"][1:]] == [32.8, 5.3, 7.5, 44.2], tree
            assert (tree["total"], tree["more"]) == (11, True), tree
            # deliver's trace id, from its ENTER: the same tree, found by trace.
            by_trace = await call(
                client, "tree", {"handle": handle, "trace": "a454b481b29185466ff6f827d109f77b"}
            )
            assert ids(by_trace["nodes"])[:2] == [2049, 2050] and by_trace["total"] == 11, by_trace
            found = await call(
                client, "search", {"handle": handle, "trace": "A454B481B29185466FF6F827D109F77B"}
            )
            assert ids(found["calls"]) == list(range(2049, 2060)), found

            timeline = await call(client, "timeline", {"handle": handle, "thread": "worker-b"})
            assert [(r["id"], r["event"]) for r in timeline["records"]] == [(2059, "EXIT"), (2049, "EXIT")]

            path = await call(client, "critical_path", {"handle": handle, "id": 2049})
            assert ids(path["steps"]) == [2049, 2059], path
            assert path["hotspot"] == {
                "id": 2059,
                "function": "gen_fixtures::chat::fan_out",
                "selfMicros": 310,
                "ofTotalPercent": 44.2,
            }, path["hotspot"]

            # Bad input: a tool error with a clear message; the server goes on.
            message = await refused(client, "open", {"paths": []})
            assert message == "`paths` is empty: give at least one trace file", message
            message = await refused(client, "open", {"paths": [trace + ".missing"]})
            assert message.startswith("cannot open ") and "No such file" in message, message
            message = await refused(client, "search", {"handle": handle, "limit": 5000})
            assert message == "`limit` 5000 is over the maximum 1000", message
            message = await refused(client, "search", {"handle": handle, "minDuration": "fast"})
            assert message.startswith("invalid duration `fast`"), message
            message = await refused(client, "tree", {"handle": handle, "id": 99})
            assert message == "no call with id 99 in the trace", message
            message = await refused(client, "tree", {"handle": handle})
            assert message == "give exactly one of `id` and `trace`", message
            message = await refused(client, "timeline", {"handle": handle, "trace": "abc"})
            assert message == "invalid trace id `abc`: expected 32 hex digits", message
            message = await refused(client, "slowest", {"handle": "t404"})
            assert message == f"no open trace `t404` (open: {handle}); call `open` first", message
            message = await refused(client, "tree", {"handle": handle, "id": "not a number"})
            assert message.startswith("failed to deserialize parameters: invalid type"), message
            message = await refused(client, "search", {"handle": handle, "functon": "typo"})
            assert "unknown field `functon`" in message, message
            # A tool that does not exist is a protocol error.
            try:
                await client.call_tool("explain_everything", {})
            except MCPError as error:
                assert "tool not found" in str(error), error
            else:
                raise AssertionError("an unknown tool was called")
            # After all that, the server still answers.
            again = await call(client, "summary", {"handle": handle, "limit": 1})
            assert again["functions"]["items"][0]["function"] == "gen_fixtures::chat::join", again

            # The README's workflow on a demo-chat trace: open, slowest, critical_path.
            demo = (await call(client, "open", {"paths": [demo_chat]}))["handle"]
            slowest = await call(client, "slowest", {"handle": demo, "limit": 3})
            assert [c["call"]["id"] for c in slowest["calls"]] == [4, 5, 10], slowest
            path = await call(client, "critical_path", {"handle": demo, "id": 4})
            assert ids(path["steps"]) == [4, 5, 10], path
            assert path["hotspot"]["function"] == "demo_chat::connection::send_half", path

            closed = await call(client, "close", {"handle": handle})
            assert closed == {"closed": handle}, closed
            message = await refused(client, "summary", {"handle": handle})
            assert message == f"no open trace `{handle}` (open: {demo}); call `open` first", message
    print(f"all checks passed: {len(TOOLS)} tools")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
