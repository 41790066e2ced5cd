"""``chaos``: inject model faults into a running system, no restart needed."""

from __future__ import annotations

import asyncio
from typing import Any

import click
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from rich.console import Console

from streams.cli.context import CliContext, fail, kafka_failure, pass_cli
from streams.kafka_options import client_options
from streams.roles.runtime import Runtime, build_runtime
from streams.shared.policies import chaos_policy

out = Console()


async def _publish(runtime: Runtime, policy: dict[str, Any]) -> None:
    producer = AIOKafkaProducer(**client_options(runtime.settings), acks="all")
    await producer.start()
    try:
        data = runtime.codec.encode("Policy", policy)
        key = f"{policy['kind']}:{policy['target']}".encode()
        await producer.send_and_wait(runtime.topics.policies, data, key=key)
    finally:
        await producer.stop()


@click.command()
@click.argument("agent")
@click.option(
    "--error-rate", type=click.FloatRange(0, 1), default=0.0, help="Share of calls failing (5xx)."
)
@click.option(
    "--timeout-rate", type=click.FloatRange(0, 1), default=0.0, help="Share of calls hanging."
)
@click.option(
    "--malformed-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    help="Share of answers that are malformed.",
)
@click.option(
    "--latency-ms", type=click.FloatRange(0), default=None, help="Latency added to every call."
)
@click.option("--clear", is_flag=True, help="Remove injected faults for AGENT.")
@pass_cli
def chaos(
    state: CliContext,
    agent: str,
    error_rate: float,
    timeout_rate: float,
    malformed_rate: float,
    latency_ms: float | None,
    clear: bool,
) -> None:
    """Inject faults into AGENT's model calls on every replica, whatever its provider
    (within a second, no restart): the policy is an event on the compacted policies topic."""
    runtime = build_runtime(state.settings())
    if agent != "*" and agent not in runtime.system:
        fail(f"unknown agent {agent!r}; known: {', '.join(runtime.system.names)} (or * for all)")
    policy = chaos_policy(
        agent,
        error_rate=error_rate,
        timeout_rate=timeout_rate,
        malformed_rate=malformed_rate,
        latency_ms=latency_ms,
        clear=clear,
    )
    try:
        asyncio.run(_publish(runtime, policy))
    except KafkaError as exc:
        fail(
            kafka_failure(runtime.settings, f"could not publish to {runtime.topics.policies}", exc)
        )
    out.print(policy["reason"])
