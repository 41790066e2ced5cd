"""The optional ``otlp`` role: every span-shaped event exported as an OpenTelemetry span.

For users of Tempo, Jaeger or Langfuse: the same trees as the ``otel_traces`` view in
ClickHouse (see :mod:`streams.otlp.spans`), pushed over OTLP/HTTP to
``AGENTBUS_OTLP_ENDPOINT``. It reads the event topics in its own consumer group, so it
can start late (it begins at the oldest event) or be stopped without touching the sink.

Offsets are acked only after the receiver took the batch's spans: while it is away the
batch is retried with backoff and nothing more is consumed (the batch and Faust's stream
buffer bound what waits in memory); a receiver that refuses for good (401, 404, 413…)
halts the worker with the batch unacked. Events that cannot be read are skipped with a
warning: the sink already dead-letters them, and their dead letters are exported.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import faust
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from streams.codec import DecodeError
from streams.otlp import OtlpExporter, OtlpTarget, UnmappableEvent, span_of
from streams.roles.errors import RoleHalted
from streams.roles.messages import KafkaMessage, where
from streams.roles.runtime import RoleStats, Runtime, halt_process, raw_topic, read_event

__all__ = ["ROLE", "OtlpSpans", "register_otlp"]

log = logging.getLogger("agentbus.otlp")

ROLE = "otlp"


class OtlpSpans:
    """The role's decisions: which record each topic carries and the spans of a batch of
    consumed messages. No I/O."""

    def __init__(self, runtime: Runtime) -> None:
        topics = runtime.topics
        self._codec = runtime.codec
        # Topic → (Avro record to decode, span shape): a step's result is an
        # AgentResult on `replies`, shown as a step result like in the view.
        self.records: dict[str, tuple[str, str]] = {
            topics.intake: ("AgentRequest", "AgentRequest"),
            topics.invocations: ("Invocation", "Invocation"),
            topics.results: ("AgentResult", "AgentResult"),
            topics.replies: ("AgentResult", "StepResult"),
            topics.workflow: ("WorkflowEvent", "WorkflowEvent"),
            topics.deadletter: ("DeadLetter", "DeadLetter"),
            **{name: ("AgentTask", "AgentTask") for name in topics.all_tasks()},
        }
        self.skipped = 0

    def spans(self, messages: list[KafkaMessage]) -> list[Span]:
        """The spans of ``messages``, in order; those that cannot be read are skipped."""
        spans: list[Span] = []
        for message in messages:
            record, shape = self.records[message.topic]
            try:
                spans.append(span_of(shape, read_event(self._codec, message, record)))
            except (DecodeError, UnmappableEvent) as exc:
                self.skipped += 1
                log.warning("not exported as a span: %s: %s", where(message), exc)
        return spans


def register_otlp(app: faust.App, runtime: Runtime) -> RoleStats:
    """Add the otlp agent to ``app``; the endpoint and headers are checked now, so a bad
    configuration stops the worker before it consumes anything."""
    settings = runtime.settings
    stats = RoleStats()
    decide = OtlpSpans(runtime)
    exporter = OtlpExporter(OtlpTarget.from_settings(settings))
    source = raw_topic(app, *decide.records)

    async def take(manual: Any) -> None:
        async for events in manual.take_events(
            settings.otlp_batch_size, within=settings.otlp_flush_seconds
        ):
            messages = [event.message for event in events]
            stats.consumed += len(events)
            try:
                spans = decide.spans(messages)
                await exporter.export(spans)  # retried until taken, or refused for good
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001  # the batch cannot go out: halt, unacked
                halt_process(RoleHalted(ROLE, where(messages[0]), exc))
            stats.produced += len(spans)
            for event in events:
                await manual.ack(event)

    @app.agent(source, name=ROLE)
    async def run(stream: Any) -> None:  # a faust.Stream; StreamT lacks take_events
        await exporter.start()
        log.info("exporting spans to %s", settings.otlp_endpoint)
        try:
            await take(stream.noack())
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001  # never a crashed agent in a live process
            halt_process(RoleHalted(ROLE, "its event loop", exc))
        finally:
            await exporter.stop()

    return stats
