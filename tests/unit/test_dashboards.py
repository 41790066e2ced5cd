"""Dashboards as code: the committed JSON is what the builder makes, every target is a
raw-SQL query of the ClickHouse plugin, macros expand as the plugin expands them, and
`dashboards push` speaks Grafana's HTTP API (against a server that records the calls)."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from streams.dashboards import (
    MacroError,
    PushError,
    Selection,
    TimeRange,
    all_dashboards,
    auto_interval,
    expand,
    render,
)
from streams.dashboards.catalog import file_name, write_all
from streams.dashboards.model import PLUGIN_ID
from streams.dashboards.push import push_dashboards

ROOT = Path(__file__).parents[2]
RANGE = TimeRange(
    dt.datetime(2025, 1, 2, 10, 0, tzinfo=dt.UTC), dt.datetime(2025, 1, 2, 11, 0, tzinfo=dt.UTC)
)


def test_committed_dashboards_are_what_the_builder_makes(tmp_path: Path) -> None:
    written = {p.name for p in write_all(tmp_path)}
    committed = {p.name for p in (ROOT / "dashboards").glob("*.json")}
    assert written == committed, "run `agentbus dashboards build`"
    for dashboard in all_dashboards():
        path = ROOT / "dashboards" / file_name(dashboard)
        assert path.read_text() == render(dashboard), (
            f"{path.name} is stale: run `agentbus dashboards build`"
        )


def test_every_target_is_raw_sql_for_the_clickhouse_plugin_through_the_variable() -> None:
    uids = set()
    for dashboard in all_dashboards():
        doc = json.loads(render(dashboard))
        uids.add(doc["uid"])
        variables = {v["name"]: v for v in doc["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == PLUGIN_ID
        assert {"tenant", "agent"} <= set(variables)
        ids = [p["id"] for p in doc["panels"]]
        assert len(ids) == len(set(ids))
        for panel in doc["panels"]:
            assert panel["datasource"] == {"type": PLUGIN_ID, "uid": "${datasource}"}
            assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
            for target in panel["targets"]:
                assert target["editorType"] == "sql"
                assert target["queryType"] in ("table", "timeSeries")
                assert target["format"] == (0 if target["queryType"] == "timeSeries" else 1)
                assert target["queryType"] == (
                    "timeSeries" if panel["type"] == "timeseries" else "table"
                )
                # ReplacingMergeTree: redelivered events collapse only on merge.
                assert "FINAL" in target["rawSql"], panel["title"]
                assert "$__timeFilter(" in target["rawSql"], panel["title"]
    assert uids == {
        "agentbus-overview", "agentbus-cost", "agentbus-reliability",
        "agentbus-cache", "agentbus-routing", "agentbus-topologies",
    }  # fmt: skip
    reliability = json.loads(render(all_dashboards()[2]))
    assert any(a.get("name") == "Breaker transitions" for a in reliability["annotations"]["list"])


def test_time_macros_expand_as_the_plugin_writes_them() -> None:
    sql = (
        "SELECT $__timeInterval(t) AS time, $__interval_s FROM x WHERE $__timeFilter(t) "
        "AND $__timeFilter_ms(t) AND $__dateFilter(d) AND t > $__fromTime AND t < $__toTime "
        "AND $__timeInterval_ms(t) > 0 AND $__fromTime_ms < $__toTime_ms"
    )
    out = expand(sql, time_range=RANGE, interval_s=30)
    start, end = int(RANGE.start.timestamp()), int(RANGE.end.timestamp())
    assert "toStartOfInterval(toDateTime(t), INTERVAL 30 second) AS time, 30 FROM" in out
    assert f"t >= toDateTime({start}) AND t <= toDateTime({end})" in out
    assert (
        f"t >= fromUnixTimestamp64Milli({start}000) AND t <= fromUnixTimestamp64Milli({end}000)"
        in out
    )
    assert "d >= toDate('2025-01-02') AND d <= toDate('2025-01-02')" in out
    assert f"t > toDateTime({start}) AND t < toDateTime({end})" in out
    assert "toStartOfInterval(toDateTime64(t, 3), INTERVAL 30000 millisecond)" in out
    assert "$__" not in out


def test_variables_and_conditional_all_expand_like_grafana() -> None:
    sql = "WHERE $__conditionalAll(agent IN (${agent:singlequote}), $agent) AND tenant IN ($tenant)"
    options = ("a", "b", "o'k")
    everything = {"agent": Selection(options=options), "tenant": Selection(options=("t1", "t2"))}
    assert expand(sql, time_range=RANGE, interval_s=1, variables=everything) == (
        "WHERE 1=1 AND tenant IN ('t1','t2')"
    )
    chosen = {"agent": Selection(("a", "o'k"), options), "tenant": Selection(("t1",), ("t1", "t2"))}
    assert expand(sql, time_range=RANGE, interval_s=1, variables=chosen) == (
        "WHERE agent IN ('a','o\\'k') AND tenant IN (t1)"
    )
    assert expand("$__interval $__interval_ms $__from", time_range=RANGE, interval_s=60) == (
        f"60s 60000 {int(RANGE.start.timestamp() * 1000)}"
    )


def test_unknown_or_misused_macros_are_refused() -> None:
    with pytest.raises(MacroError, match="unknown macro"):
        expand("WHERE $__timeFiltr(t)", time_range=RANGE, interval_s=1)
    with pytest.raises(MacroError, match="1 argument"):
        expand("WHERE $__timeFilter()", time_range=RANGE, interval_s=1)
    with pytest.raises(MacroError, match="unbalanced"):
        expand("WHERE $__timeFilter(t", time_range=RANGE, interval_s=1)


def test_auto_interval_rounds_to_nice_steps() -> None:
    assert auto_interval(RANGE, max_points=200) == 20
    assert auto_interval(RANGE, max_points=120) == 30
    day = TimeRange(RANGE.start, RANGE.start + dt.timedelta(days=1))
    assert auto_interval(day, max_points=100) == 900


def test_provisioning_points_grafana_at_the_plugin_and_the_dashboards() -> None:
    datasource = (
        ROOT / "infra/grafana/provisioning/datasources/agentbus-clickhouse.yaml"
    ).read_text()
    provider = (ROOT / "infra/grafana/provisioning/dashboards/agentbus.yaml").read_text()
    assert f"type: {PLUGIN_ID}" in datasource and "defaultDatabase: agentbus" in datasource
    assert "type: file" in provider and "path: /var/lib/grafana/dashboards/agentbus" in provider


class _Grafana(BaseHTTPRequestHandler):
    calls: list[tuple[str, str, Any, str]]
    folders: list[dict[str, Any]]

    def _answer(self, payload: Any, status: int = 200) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.calls.append(("GET", self.path, None, self.headers.get("Authorization", "")))
        self._answer(self.folders)

    def do_POST(self) -> None:
        data = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.calls.append(("POST", self.path, data, self.headers.get("Authorization", "")))
        if self.path == "/api/folders":
            self.folders.append({"uid": data.get("uid") or "f1", "title": data["title"]})
            self._answer(self.folders[-1])
        elif data["dashboard"]["uid"] == "agentbus-cache" and self.server.refuse:  # type: ignore[attr-defined]
            self._answer({"message": "Dashboard not found"}, 412)
        else:
            uid = data["dashboard"]["uid"]
            self._answer({"uid": uid, "url": f"/d/{uid}/x", "version": 3, "status": "success"})

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def grafana() -> Iterator[ThreadingHTTPServer]:
    handler = type("Handler", (_Grafana,), {"calls": [], "folders": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.refuse = False  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_push_creates_the_folder_and_overwrites_each_dashboard(
    grafana: ThreadingHTTPServer,
) -> None:
    url = f"http://127.0.0.1:{grafana.server_port}"
    published = push_dashboards(all_dashboards(), grafana_url=url, token="s3cret")
    calls = grafana.RequestHandlerClass.calls  # type: ignore[attr-defined]
    assert calls[0][:2] == ("GET", "/api/folders")
    assert calls[1][:3] == ("POST", "/api/folders", {"title": "agentbus", "uid": "agentbus"})
    pushes = [c for c in calls if c[1] == "/api/dashboards/db"]
    assert [c[2]["dashboard"]["uid"] for c in pushes] == [d.uid for d in all_dashboards()]
    assert all(c[2]["overwrite"] and c[2]["folderUid"] == "agentbus" for c in pushes)
    assert all(c[2]["dashboard"]["id"] is None for c in pushes)
    assert {c[3] for c in calls} == {"Bearer s3cret"}
    assert [p.version for p in published] == [3] * 6
    # A second push finds the folder and creates none.
    push_dashboards(all_dashboards(), grafana_url=url, token="s3cret")
    assert sum(c[:2] == ("POST", "/api/folders") for c in calls) == 1


def test_push_names_grafana_refusals_without_the_token(grafana: ThreadingHTTPServer) -> None:
    grafana.refuse = True  # type: ignore[attr-defined]
    url = f"http://127.0.0.1:{grafana.server_port}"
    with pytest.raises(PushError, match="refused") as raised:
        push_dashboards(all_dashboards(), grafana_url=url, token="s3cret")
    assert "s3cret" not in str(raised.value)
    with pytest.raises(PushError, match="did not answer"):
        push_dashboards(
            all_dashboards(), grafana_url="http://127.0.0.1:9", token="s3cret", timeout=2
        )
