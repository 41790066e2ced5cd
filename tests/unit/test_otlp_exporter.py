"""The OTLP exporter against a receiver on loopback: what arrives, with which headers,
and what a receiver that is away or refuses makes of a batch."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

import httpx
import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from pydantic import SecretStr

from streams.events import envelope
from streams.otlp import (
    ExportRejected,
    OtlpError,
    OtlpExporter,
    OtlpTarget,
    parse_headers,
    span_of,
)
from streams.otlp.testing import OtlpReceiver
from streams.settings import Settings

# Langfuse's form: basic auth of "pk-lf-1:sk-lf-1", the space percent-encoded.
LANGFUSE = "Authorization=Basic%20cGstbGYtMTpzay1sZi0x,x-langfuse-ingestion-version=4"


def _spans(count: int) -> list[Span]:
    return [
        span_of(
            "AgentRequest",
            {
                **envelope(producer="client", trace_id=f"{i + 1:032x}", parent_span_id=None),
                "occurred_at": dt.datetime(2026, 11, 30, tzinfo=dt.UTC),
                "request_id": f"req-{i}",
                "tenant": "acme",
                "target_agent": None,
                "session_id": None,
            },
        )
        for i in range(count)
    ]


def _target(url: str, headers: str | None = None) -> OtlpTarget:
    secret = SecretStr(headers) if headers else None
    return OtlpTarget(url, secret, timeout_s=2.0, retry_initial_s=0.01, retry_max_s=0.05)


async def _export(target: OtlpTarget, spans: list[Span]) -> OtlpExporter:
    async with OtlpExporter(target) as exporter:
        await exporter.export(spans)
    return exporter


def test_a_batch_arrives_as_one_request_with_the_configured_headers() -> None:
    with OtlpReceiver() as receiver:
        exporter = asyncio.run(_export(_target(receiver.url, LANGFUSE), _spans(3)))

    [export] = receiver.exports
    assert [span.trace_id for span in export.spans] == [
        bytes.fromhex(f"{i + 1:032x}") for i in range(3)
    ]
    assert export.headers["authorization"] == "Basic cGstbGYtMTpzay1sZi0x"
    assert export.headers["x-langfuse-ingestion-version"] == "4"
    assert export.headers["content-type"] == "application/x-protobuf"
    assert exporter.exported == 3


def test_a_receiver_that_is_busy_or_failing_gets_the_same_batch_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with OtlpReceiver() as receiver, caplog.at_level(logging.ERROR, "agentbus.otlp"):
        receiver.answer(503, 429, 500)
        asyncio.run(_export(_target(receiver.url), _spans(2)))

    assert receiver.refused == [503, 429, 500]
    assert len(receiver.exports) == 1 and len(receiver.spans) == 2
    assert sum("retrying in" in r.message for r in caplog.records) == 3


def test_a_receiver_that_is_not_there_yet_is_waited_for() -> None:
    attempts = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200)

    async def run() -> None:
        transport = httpx.MockTransport(handler)
        async with OtlpExporter(_target("http://otlp.invalid/v1/traces"), transport=transport) as e:
            await e.export(_spans(1))

    asyncio.run(run())
    assert attempts == 3


@pytest.mark.parametrize(
    ("code", "hint"),
    [(401, "AGENTBUS_OTLP_HEADERS"), (404, "AGENTBUS_OTLP_ENDPOINT"), (413, "BATCH_SIZE")],
)
def test_a_refusal_that_will_not_pass_raises_at_once_naming_what_to_change(
    code: int, hint: str
) -> None:
    with OtlpReceiver() as receiver:
        receiver.answer(code)
        with pytest.raises(ExportRejected, match=f"HTTP {code}.*{hint}") as caught:
            asyncio.run(_export(_target(receiver.url, LANGFUSE), _spans(1)))

    assert receiver.refused == [code], "sent once, not retried"
    assert not caught.value.retriable
    assert "cGstbGYt" not in str(caught.value), "the credentials never reach an error"


def test_headers_parse_like_otel_exporter_otlp_headers_and_bad_ones_are_named() -> None:
    assert parse_headers("a=1, b = x%2Cy ,,c=Basic dG9r==") == {
        "a": "1",
        "b": "x,y",
        "c": "Basic dG9r==",
    }
    with pytest.raises(OtlpError, match="'Authorization:Basic' is not key=value"):
        parse_headers("Authorization:Basic")


def test_the_headers_are_a_secret_of_the_settings() -> None:
    settings = Settings(otlp_endpoint="http://localhost:4318/v1/traces", otlp_headers=LANGFUSE)
    assert "cGstbGYt" not in repr(settings)
    assert "cGstbGYt" not in repr(settings.as_dict())
    assert settings.to_env()["AGENTBUS_OTLP_HEADERS"] == LANGFUSE
    target = OtlpTarget.from_settings(settings)
    assert "cGstbGYt" not in repr(target) and "cGstbGYt" not in repr(OtlpExporter(target))
    with pytest.raises(ValueError, match="otlp_endpoint"):
        Settings(otlp_endpoint="localhost:4318")
    with pytest.raises(OtlpError, match="AGENTBUS_OTLP_ENDPOINT"):
        OtlpTarget.from_settings(Settings())
