"""The embedded store as an open door while a worker owns it (the ClickHouse HTTP
interface of its gateway), and rebuilt from the Kafka log (`agentbus replay`)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from pathlib import Path

import clickhouse_connect
import httpx
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from agents.reference import reference_workload
from streams.client import AgentbusClient
from streams.supervise import wait_for_gateway
from streams.warehouse import TABLE_FOR_RECORD
from tests.harness import Stack
from tests.integration.test_spine import submit_and_collect

pytestmark = pytest.mark.integration


def _cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # our own CLI
        [sys.executable, "-m", "streams.cli.main", *args],
        capture_output=True,
        text=True,
        env={**stack.settings.child_env(), "COLUMNS": "200"},
        timeout=300,
        check=False,
    )


async def _submit(stack: Stack, count: int) -> None:
    async with AgentbusClient(stack.runtime) as client:
        for i in range(count):
            await client.submit(f"what is my balance? ({i})", tenant="acme")
        await client.flush()


def test_clickhouse_connect_http_client_reads_the_store_a_worker_owns(stack: Stack) -> None:
    wait_for_gateway(stack.start(["sink"], name="sink"), stack.settings)
    asyncio.run(_submit(stack, 5))
    count = "SELECT count() FROM agentbus.requests FINAL"
    stack.wait_until(lambda: stack.scalar(count) == 5, 60, "5 requests in ClickHouse")
    http = stack.gateway().http
    assert http is not None
    assert http.host == "127.0.0.1"

    client = clickhouse_connect.get_client(
        host=http.host, port=http.port, username=http.user, password=http.password
    )
    assert client.query(count).result_rows == [(5,)]
    by_tenant = client.query(
        "SELECT tenant, count() AS n FROM agentbus.requests FINAL WHERE tenant = {t:String} "
        "GROUP BY tenant",
        parameters={"t": "acme"},
    )
    assert by_tenant.column_names == ("tenant", "n")
    assert by_tenant.result_rows == [("acme", 5)]
    # An empty result keeps its columns (chdb itself names none).
    empty = client.query("SELECT request_id, tenant FROM agentbus.requests WHERE tenant = 'x'")
    assert empty.column_names == ("request_id", "tenant")
    assert empty.result_rows == []
    # Read-only: a DROP or an INSERT fails with ClickHouse's READONLY error, and the
    # table is still there.
    with pytest.raises(DatabaseError, match="READONLY"):
        client.command("DROP TABLE agentbus.requests")
    with pytest.raises(DatabaseError, match="READONLY"):
        client.command("INSERT INTO agentbus.requests (event_id) VALUES ('x')")
    assert client.query(count).result_rows == [(5,)]
    client.close()

    with pytest.raises(DatabaseError, match=r"516|Authentication failed"):
        clickhouse_connect.get_client(
            host=http.host, port=http.port, username=http.user, password="wrong"
        )

    # curl's view: /ping, GET with default_format, POST with the X-ClickHouse headers.
    assert httpx.get(f"{http.url}/ping").text == "Ok.\n"
    auth = (http.user, http.password)
    got = httpx.get(
        http.url,
        params={"query": "SELECT tenant FROM agentbus.requests LIMIT 1", "default_format": "JSON"},
        auth=auth,
    )
    assert got.status_code == 200
    assert got.json()["data"] == [{"tenant": "acme"}]
    csv = httpx.post(
        http.url,
        params={"param_t": "acme"},
        content="SELECT count() AS n FROM agentbus.requests FINAL WHERE tenant = {t:String} "
        "FORMAT CSVWithNames",
        headers={"X-ClickHouse-User": http.user, "X-ClickHouse-Key": http.password},
    )
    assert csv.text == '"n"\n5\n'
    refused = httpx.post(http.url, content="SELECT 1", auth=(http.user, "wrong"))
    assert refused.status_code == 401
    assert refused.headers["X-ClickHouse-Exception-Code"] == "516"

    # agentbus sql goes through the same door: columns of an empty result, no DROP.
    done = _cli(
        stack, "sql", "SELECT tenant, input FROM agentbus.requests WHERE 0", "--format", "tsv"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["tenant\tinput"]
    dropped = _cli(stack, "sql", "DROP TABLE agentbus.requests")
    assert dropped.returncode == 1
    assert "READONLY" in dropped.stderr
    assert stack.scalar(count) == 5


def _replayed_counts(output: str) -> dict[str, int]:
    return {m[0]: int(m[1]) for m in re.findall(r"│ (\w+)\s+│ (\d+)\s+│", output)}


def _settled_counts(stack: Stack) -> dict[str, int]:
    """Per-table counts (FINAL) once two reads a second apart agree."""
    union = " UNION ALL ".join(
        f"SELECT '{t}', count() FROM agentbus.{t} FINAL"
        for t in sorted(set(TABLE_FOR_RECORD.values()))
    )
    before: dict[str, int] = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = {str(name): int(n) for name, n in stack.gateway().query(union).rows}
        if now == before:
            return now
        before = now
        time.sleep(1.0)
    raise AssertionError(f"the sink never settled: {before}")


def test_replay_rebuilds_the_store_from_the_log_and_twice_changes_nothing(
    stack: Stack, tmp_path: Path
) -> None:
    stack.start_all()
    results = asyncio.run(submit_and_collect(stack, reference_workload(80, seed=5), timeout=180))
    assert len(results) == 80
    stack.wait_until(
        lambda: stack.scalar("SELECT count() FROM agentbus.results FINAL") == 80,
        60,
        "80 results in ClickHouse",
    )
    original = _settled_counts(stack)
    assert original["requests"] == 80
    assert original["invocations"] >= 80

    fresh = f"chdb://{tmp_path / 'rebuilt'}"
    first = _cli(stack, "replay", "--into", fresh)
    assert first.returncode == 0, first.stderr
    assert _replayed_counts(first.stdout) == original, first.stdout

    second = _cli(stack, "replay", "--into", fresh)
    assert second.returncode == 0, second.stderr
    assert _replayed_counts(second.stdout) == original, second.stdout
    assert re.search(r"read \d+ events", second.stdout)
