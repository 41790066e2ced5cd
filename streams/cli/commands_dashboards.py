"""``dashboards build`` and ``dashboards push``: the Grafana door."""

from __future__ import annotations

import os
from pathlib import Path

import click

from streams.cli.context import fail
from streams.dashboards import PushError, all_dashboards, write_all
from streams.dashboards.push import push_dashboards


@click.group()
def dashboards() -> None:
    """Grafana dashboards (ClickHouse data source plugin) generated from code."""


@dashboards.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("dashboards"),
    show_default=True,
    help="Folder the dashboard JSON files are written to (Grafana's provider reads it).",
)
def build(out_dir: Path) -> None:
    """Write every dashboard as Grafana JSON into --out."""
    for path in write_all(out_dir):
        click.echo(str(path))


@dashboards.command()
@click.option(
    "--grafana-url", required=True, help="Grafana's base URL, e.g. http://localhost:3000."
)
@click.option(
    "--token-env",
    default="GRAFANA_TOKEN",
    show_default=True,
    help="Environment variable holding a Grafana service account token (Editor).",
)
@click.option("--folder", default="agentbus", show_default=True, help="Grafana folder.")
def push(grafana_url: str, token_env: str, folder: str) -> None:
    """Publish every dashboard to a Grafana (needs the `agentbus[grafana]` extra)."""
    token = os.environ.get(token_env)
    if not token:
        fail(f"no Grafana token: set {token_env} (a service account token)")
    try:
        published = push_dashboards(
            all_dashboards(), grafana_url=grafana_url.rstrip("/"), token=token, folder=folder
        )
    except PushError as exc:
        fail(str(exc))
    for item in published:
        click.echo(f"{item.uid}  v{item.version}  {grafana_url.rstrip('/')}{item.url}")
