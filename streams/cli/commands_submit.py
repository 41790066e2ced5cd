"""``submit``: produce AgentRequest events to the intake topic."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import IO, Any

import click
from aiokafka.errors import KafkaError
from rich.console import Console

from streams.cli.context import CliContext, fail, kafka_failure, pass_cli
from streams.client import AgentbusClient
from streams.roles.runtime import Runtime, build_runtime

out = Console()


def parse_line(line: str, number: int) -> dict[str, Any]:
    """One JSON object with ``input`` (or ``text``); other keys are the request's options."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise click.UsageError(f"line {number}: not JSON ({exc.msg})") from exc
    if not isinstance(item, dict) or not isinstance(item.get("input", item.get("text")), str):
        raise click.UsageError(f'line {number}: expected an object with "input": "<text>"')
    return {
        "text": item.get("input", item.get("text")),
        "tenant": item.get("tenant", "default"),
        "target_agent": item.get("target_agent"),
        "metadata": {str(k): str(v) for k, v in (item.get("metadata") or {}).items()},
        "request_id": item.get("request_id"),
        "session_id": item.get("session_id"),
    }


async def _submit(runtime: Runtime, items: list[dict[str, Any]]) -> list[str]:
    async with AgentbusClient(runtime, producer_role="cli") as client:
        ids = [(await client.submit(**item)).request_id for item in items]
        await client.flush()
    return ids


@click.command()
@click.option("--text", help="Submit one request with this input instead of reading JSON lines.")
@click.option("--tenant", default="default", show_default=True, help="Tenant of a --text request.")
@click.option(
    "--agent", "target_agent", help="Explicit target agent (bypasses the router's classifier)."
)
@click.option(
    "--file",
    "source",
    type=click.File("r"),
    default=None,
    help="JSON lines to read (default: standard input).",
)
@pass_cli
def submit(
    state: CliContext,
    text: str | None,
    tenant: str,
    target_agent: str | None,
    source: IO[str] | None,
) -> None:
    """Produce requests to the intake topic and print their request ids, one per line.

    JSON lines look like {"input": "...", "tenant": "acme", "target_agent": null, "metadata": {}}.
    """
    if text is not None:
        items = [{"text": text, "tenant": tenant, "target_agent": target_agent}]
    else:
        stream = source or sys.stdin
        items = [parse_line(line, n) for n, line in enumerate(stream, 1) if line.strip()]
        if not items:
            fail("nothing to submit: give --text or JSON lines on stdin / --file")
    runtime = build_runtime(state.settings())
    try:
        ids = asyncio.run(_submit(runtime, items))
    except KafkaError as exc:
        where = f"{runtime.topics.intake} at {runtime.settings.kafka_bootstrap}"
        fail(kafka_failure(runtime.settings, f"could not produce to {where}", exc))
    for request_id in ids:
        out.print(request_id, highlight=False)
