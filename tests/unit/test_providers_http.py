"""The HTTP providers against a real local server replaying recorded API responses.

Each test gets a `ThreadingHTTPServer` on 127.0.0.1 that answers with the recordings in
`tests/fixtures/recorded/` (bodies and headers as OpenAI, Anthropic and llama.cpp send
them) and keeps what it received, so tests check both what a provider sends and how it
reads the answer. Real HTTP over loopback, no mocked transport.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import re
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from agents import (
    AgentSpec,
    ConfigError,
    InvocationContext,
    MalformedOutput,
    ModelProvider,
    ModelRequest,
    ModelResponse,
    ModelTimeout,
    ModelUnavailable,
    ProviderError,
    RetryPolicy,
    estimate_tokens,
    invoke,
)
from agents.errors import BadRequest, ProviderAuthError, RateLimited
from agents.invocation import InvocationDeps
from agents.providers._http import HTTPProvider
from agents.providers.anthropic import AnthropicProvider
from agents.providers.openai_compat import OpenAICompatProvider
from agents.tools import Toolbox, ToolError, tool

RECORDED = Path(__file__).parents[1] / "fixtures" / "recorded"
KEY = "sk-proj-AgentbusTestKeyDoNotLeak0123456789cRET"  # tail matches the 401 recording
SYSTEM = "You are the transactions agent of a fintech support desk."
QUESTION = "Why was my card charged twice on March 3?"
_ECHO = re.compile(r"\{echo:([a-z-]+)\}")  # a recording quoting a header it received


@dataclass(frozen=True)
class Received:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class ReplayServer:
    """Answers every POST with the next queued recording (the last one repeats)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.delay_s = 0.0
        self._replies: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._release = threading.Event()  # set at teardown to cut a delayed reply short

        replay = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", "0")))
                replay.record(self.command, self.path, dict(self.headers.items()), raw)
                recording, extra_headers = replay.next_reply()
                if replay.delay_s:
                    replay._release.wait(replay.delay_s)
                if "body_text" in recording:
                    echo = {name.lower(): value for name, value in self.headers.items()}
                    text = _ECHO.sub(lambda m: echo.get(m[1], ""), recording["body_text"])
                    data = text.encode()
                else:
                    data = json.dumps(recording["body"]).encode()
                try:
                    self.send_response(recording["status"])
                    for name, value in {**recording["headers"], **extra_headers}.items():
                        self.send_header(name, value)
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up first: the timeout tests want exactly that

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.01,), daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def reply(self, *names: str, headers: dict[str, str] | None = None) -> None:
        """Queue recordings by file stem; `headers` override the recorded ones."""
        with self._lock:
            self._replies = [(name, dict(headers or {})) for name in names]

    def record(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> None:
        lowered = {name.lower(): value for name, value in headers.items()}
        with self._lock:
            self.received.append(Received(method, path, lowered, json.loads(raw)))

    def next_reply(self) -> tuple[dict[str, Any], dict[str, str]]:
        with self._lock:
            name, headers = self._replies.pop(0) if len(self._replies) > 1 else self._replies[0]
        recording: dict[str, Any] = json.loads((RECORDED / f"{name}.json").read_text())
        return recording, headers

    def close(self) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def server() -> Iterator[ReplayServer]:
    replay = ReplayServer()
    try:
        yield replay
    finally:
        replay.close()


def make_request(model: str = "gpt-4o-mini", **changes: Any) -> ModelRequest:
    fields: dict[str, Any] = {
        "model": model,
        "system_prompt": SYSTEM,
        "input_text": QUESTION,
        "temperature": 0.2,
        "max_output_tokens": 512,
        "timeout_s": 5.0,
        "metadata": {"agent": "transactions"},
    }
    fields.update(changes)
    return ModelRequest(**fields)


def openai(server: ReplayServer, key: str = KEY) -> OpenAICompatProvider:
    return OpenAICompatProvider(f"{server.url}/v1", SecretStr(key))


def anthropic(server: ReplayServer, key: str = KEY) -> AnthropicProvider:
    return AnthropicProvider(SecretStr(key), base_url=server.url)


def call(provider: HTTPProvider, request: ModelRequest) -> ModelResponse:
    async def run() -> ModelResponse:
        async with provider:
            return await provider.complete(request)

    return asyncio.run(run())


def failure(provider: HTTPProvider, request: ModelRequest) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        call(provider, request)
    return caught.value


# What is sent, and how a good answer is read.


def test_openai_posts_a_chat_completion_and_reads_text_and_usage(server: ReplayServer) -> None:
    server.reply("openai_chat_completion")
    response = call(openai(server), make_request())

    [sent] = server.received
    assert (sent.method, sent.path) == ("POST", "/v1/chat/completions")
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.headers["content-type"] == "application/json"
    assert sent.body == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": QUESTION},
        ],
        "temperature": 0.2,
        "max_tokens": 512,
    }
    assert response.text.startswith("The second charge of $42.10")
    assert (response.input_tokens, response.output_tokens) == (41, 58)
    assert response.model == "gpt-4o-mini-2024-07-18"  # as served, not as asked
    assert response.tool_calls == ()
    assert response.latency_ms > 0


def test_openai_offers_tools_and_returns_calls_as_compact_json(server: ReplayServer) -> None:
    server.reply("openai_tool_calls")
    tools = ("search_transactions", "get_merchant")
    response = call(openai(server), make_request(model="gpt-4o", tools=tools))

    [sent] = server.received
    assert sent.body["tools"] == [
        {
            "type": "function",
            "function": {"name": name, "parameters": {"type": "object", "properties": {}}},
        }
        for name in tools
    ]
    assert response.text == ""
    assert response.tool_calls == (
        '{"arguments":{"days":30,"query":"card charged twice"},"name":"search_transactions"}',
    )
    assert (response.input_tokens, response.output_tokens) == (96, 21)


def test_local_server_without_key_or_usage_gets_estimated_tokens(server: ReplayServer) -> None:
    server.reply("llamacpp_no_usage")
    provider = OpenAICompatProvider(
        server.url, None, name="llamacpp", extra_headers={"X-Tenant": "acme"}
    )
    assert provider.name == "llamacpp"
    response = call(provider, make_request(model="qwen2.5-7b", system_prompt=""))

    [sent] = server.received
    assert sent.path == "/chat/completions"
    assert "authorization" not in sent.headers
    assert sent.headers["x-tenant"] == "acme"
    assert sent.body["messages"] == [{"role": "user", "content": QUESTION}]  # no empty system
    assert response.input_tokens == estimate_tokens(QUESTION)
    assert response.output_tokens == estimate_tokens(response.text) > 0


def test_anthropic_posts_a_message_and_reads_text_and_tool_use(server: ReplayServer) -> None:
    server.reply("anthropic_message_tool_use")
    request = make_request(model="claude-sonnet-4-20250514", tools=("search_transactions",))
    response = call(anthropic(server), request)

    [sent] = server.received
    assert (sent.method, sent.path) == ("POST", "/v1/messages")
    assert sent.headers["x-api-key"] == KEY
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in sent.headers
    assert sent.body == {
        "model": "claude-sonnet-4-20250514",
        "system": SYSTEM,
        "messages": [{"role": "user", "content": QUESTION}],
        "max_tokens": 512,
        "temperature": 0.2,
        "tools": [
            {
                "name": "search_transactions",
                "input_schema": {"type": "object", "properties": {}},
            }
        ],
    }
    assert response.text == "I'll look up the transactions on your card for the last 30 days."
    assert response.tool_calls == (
        '{"arguments":{"days":30,"query":"card charged twice"},"name":"search_transactions"}',
    )
    assert response.input_tokens == 412 + 128  # uncached plus cache reads
    assert response.output_tokens == 87


# How failures are reported.

Make = Callable[[ReplayServer, str], HTTPProvider]
ERRORS = [
    # (provider, recording, error, retriable, kind, status)
    (openai, "openai_429_rate_limited", RateLimited, True, "rate_limited", 429),
    (anthropic, "anthropic_429_rate_limited", RateLimited, True, "rate_limited", 429),
    (openai, "openai_500_server_error", ModelUnavailable, True, "unavailable", 500),
    (anthropic, "anthropic_529_overloaded", ModelUnavailable, True, "unavailable", 529),
    (openai, "openai_401_invalid_key", ProviderAuthError, False, "auth", 401),
    (anthropic, "anthropic_401_invalid_key", ProviderAuthError, False, "auth", 401),
    (openai, "openai_400_context_length", BadRequest, False, "bad_request", 400),
    (anthropic, "anthropic_404_unknown_model", BadRequest, False, "bad_request", 404),
    (openai, "malformed_200_truncated", MalformedOutput, True, "malformed", 200),
    (anthropic, "malformed_200_truncated", MalformedOutput, True, "malformed", 200),
    (openai, "openai_no_choices", MalformedOutput, True, "malformed", 200),
    (openai, "openai_bad_tool_arguments", MalformedOutput, True, "malformed", 200),
    (anthropic, "openai_chat_completion", MalformedOutput, True, "malformed", 200),
]


@pytest.mark.parametrize(
    ("make", "recording", "error", "retriable", "kind", "status"),
    ERRORS,
    ids=[f"{make.__name__}-{recording}" for make, recording, *_ in ERRORS],
)
def test_errors_are_classified_with_context_and_never_show_the_key(
    server: ReplayServer,
    caplog: pytest.LogCaptureFixture,
    make: Make,
    recording: str,
    error: type[ProviderError],
    retriable: bool,
    kind: str,
    status: int,
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx and httpcore included
    server.reply(recording)
    provider = make(server, KEY)
    model = "claude-sonnet-4-20250514" if make is anthropic else "gpt-4o-mini"
    exc = failure(provider, make_request(model=model))

    assert type(exc) is error
    assert (exc.retriable, exc.kind) == (retriable, kind)
    message = str(exc)
    assert f"{provider.name}: HTTP {status}" in message
    assert f"model={model}" in message
    assert "agent=transactions" in message
    assert f"{provider.name} {model} -> HTTP {status}" in caplog.text
    seen = [
        message,
        repr(exc),
        "".join(traceback.format_exception(exc)),  # what `log.exception` would print
        repr(provider),
        caplog.text,
        getattr(exc, "output", None) or "",
    ]
    assert not [text for text in seen if KEY in text]
    assert "cRET" not in message  # OpenAI's masked echo of the key is redacted too


@pytest.mark.parametrize(
    ("make", "key"),
    [(openai, KEY), (anthropic, KEY), (openai, "vllm-local-token-7f3e9a1c")],
    ids=["openai", "anthropic", "openai-non-sk-key"],
)
def test_a_server_quoting_the_key_back_has_it_redacted(
    server: ReplayServer, make: Make, key: str
) -> None:
    server.reply("gateway_400_echoes_key")
    exc = failure(make(server, key), make_request())
    assert isinstance(exc, BadRequest)
    assert "is not allowed to use this model" in str(exc)
    assert "[redacted]" in str(exc)
    assert key not in str(exc)


def test_server_error_message_is_quoted(server: ReplayServer) -> None:
    server.reply("openai_400_context_length")
    exc = failure(openai(server), make_request())
    assert "maximum context length is 128000 tokens" in str(exc)


def test_retry_after_is_read_in_milliseconds_seconds_or_as_a_date(server: ReplayServer) -> None:
    server.reply("openai_429_rate_limited")  # retry-after-ms: 254 wins over retry-after: 1
    exc = failure(openai(server), make_request())
    assert isinstance(exc, RateLimited)
    assert exc.retry_after_s == pytest.approx(0.254)
    assert "retry after 0.254s" in str(exc)

    server.reply("anthropic_429_rate_limited")
    exc = failure(anthropic(server), make_request())
    assert isinstance(exc, RateLimited)
    assert exc.retry_after_s == 7.0

    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    server.reply("anthropic_429_rate_limited", headers={"retry-after": later})
    exc = failure(anthropic(server), make_request())
    assert isinstance(exc, RateLimited)
    assert exc.retry_after_s is not None
    assert 25.0 < exc.retry_after_s <= 30.0


@pytest.mark.parametrize("make", [openai, anthropic])
def test_a_slow_server_raises_model_timeout_after_timeout_s(
    server: ReplayServer, make: Make
) -> None:
    server.reply("openai_chat_completion")
    server.delay_s = 5.0
    started = time.perf_counter()
    exc = failure(make(server, KEY), make_request(timeout_s=0.2))
    elapsed = time.perf_counter() - started

    assert isinstance(exc, ModelTimeout)
    assert exc.retriable
    assert exc.timeout_s == 0.2
    assert "no answer within 0.2s" in str(exc)
    assert 0.2 <= elapsed < 2.0


def test_an_unreachable_server_is_unavailable() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and now refuses
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = OpenAICompatProvider(f"http://127.0.0.1:{port}/v1", SecretStr(KEY))
    exc = failure(provider, make_request())
    assert isinstance(exc, ModelUnavailable)
    assert exc.retriable
    assert "cannot reach" in str(exc)
    assert KEY not in "".join(traceback.format_exception(exc))


def test_invoke_retries_a_rate_limit_and_records_no_key(server: ReplayServer) -> None:
    server.reply("openai_429_rate_limited", "openai_chat_completion")
    spec = AgentSpec(
        name="transactions",
        description="Card and account transactions.",
        model="gpt-4o-mini",
        provider="openai",
        prompt=SYSTEM,
        tier="standard",
    )

    async def run() -> Any:
        async with openai(server) as provider:
            context = InvocationContext(request_id="r-1", task_id="t-1")
            return await invoke(spec, provider, QUESTION, context=context, retry=RetryPolicy.none())

    outcome = asyncio.run(run())
    assert outcome.status == "ok"
    assert [a.outcome for a in outcome.attempts] == ["error", "ok"]
    assert outcome.attempts[0].error.startswith("RateLimited: openai: HTTP 429")
    assert outcome.attempts[1].provider == "openai"
    assert KEY not in repr(outcome)


# Lifecycle, configuration and the protocol.


def test_lifecycle_is_explicit_and_close_is_idempotent(server: ReplayServer) -> None:
    server.reply("openai_chat_completion")
    provider = openai(server)

    async def run() -> None:
        assert "not started" in repr(provider)
        await provider.complete(make_request())  # starts the client on first use
        assert "open" in repr(provider)
        await provider.aclose()
        await provider.aclose()
        assert "closed" in repr(provider)
        with pytest.raises(RuntimeError, match="closed"):
            await provider.complete(make_request())

    asyncio.run(run())
    asyncio.run(AnthropicProvider(SecretStr(KEY)).aclose())  # closing unstarted is fine


def test_a_provider_never_closed_warns(server: ReplayServer) -> None:
    provider = openai(server)
    asyncio.run(provider.start())
    with pytest.warns(ResourceWarning, match="never closed"):
        del provider
        gc.collect()


def test_configuration_is_checked_without_echoing_the_key() -> None:
    with pytest.raises(ConfigError, match="SecretStr") as caught:
        OpenAICompatProvider("https://api.openai.com/v1", KEY)  # type: ignore[arg-type]
    assert KEY not in str(caught.value)
    with pytest.raises(ConfigError, match="http"):
        OpenAICompatProvider("ftp://models.internal/v1", None)
    with pytest.raises(ConfigError, match="api_key") as caught:
        OpenAICompatProvider("http://admin:hunter2@models.internal/v1", None)
    assert "hunter2" not in str(caught.value)


def test_both_providers_satisfy_the_model_provider_protocol() -> None:
    providers: list[ModelProvider] = [
        OpenAICompatProvider("http://127.0.0.1:8000/v1", None, name="vllm"),
        AnthropicProvider(SecretStr(KEY)),
    ]
    assert all(isinstance(provider, ModelProvider) for provider in providers)
    assert [provider.name for provider in providers] == ["vllm", "anthropic"]
    assert KEY not in repr(providers)


# A tool round over HTTP: the model calls a tool, the result goes back, it answers.


@tool
def search_transactions(query: str, days: int = 30) -> list[dict[str, Any]]:
    """Card transactions matching `query` in the last `days` days."""
    return [{"merchant": "Corner Bistro", "amount": 42.10, "date": "2025-03-03"}] * 2


def tool_round(provider: HTTPProvider, model: str) -> Any:
    spec = AgentSpec(
        name="transactions",
        description="Card and account transactions.",
        model=model,
        provider=provider.name,
        prompt=SYSTEM,
        tier="standard",
        tools=("search_transactions",),
    )
    deps = InvocationDeps(tools=Toolbox([search_transactions]))

    async def run() -> Any:
        async with provider:
            context = InvocationContext(request_id="r-1", task_id="t-1")
            return await invoke(spec, provider, QUESTION, context=context, deps=deps)

    return asyncio.run(run())


def test_openai_tool_round_sends_the_call_and_its_result_back(server: ReplayServer) -> None:
    server.reply("openai_tool_calls", "openai_after_tool_results")
    outcome = tool_round(openai(server), "gpt-4o")

    first, second = (r.body for r in server.received)
    assert first["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "search_transactions",
                "description": "Card transactions matching `query` in the last `days` days.",
                "parameters": search_transactions.parameters,
            },
        }
    ]
    assert first["tools"][0]["function"]["parameters"]["required"] == ["query"]
    assert second["tools"] == first["tools"]
    assert second["messages"][:2] == first["messages"]
    assistant, result = second["messages"][2:]
    assert assistant == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_Qd8dM1G8yW0VfZ0nXh1o2fXb",
                "type": "function",
                "function": {
                    "name": "search_transactions",
                    "arguments": '{"query": "card charged twice", "days": 30}',
                },
            }
        ],
    }
    assert result["role"] == "tool"
    assert result["tool_call_id"] == "call_Qd8dM1G8yW0VfZ0nXh1o2fXb"
    assert json.loads(result["content"])[0]["merchant"] == "Corner Bistro"

    assert outcome.status == "ok"
    assert outcome.output.startswith("You were charged $42.10 twice")
    [attempt] = outcome.attempts
    assert (attempt.input_tokens, attempt.output_tokens) == (96 + 188, 21 + 39)
    [run] = attempt.tool_runs
    assert (run.name, run.call_id, run.round, run.error) == (
        "search_transactions",
        "call_Qd8dM1G8yW0VfZ0nXh1o2fXb",
        1,
        None,
    )
    assert json.loads(run.arguments) == {"query": "card charged twice", "days": 30}
    assert run.result == result["content"]
    assert run.idempotency_key is None  # no side effects declared


def test_anthropic_tool_round_sends_tool_use_and_tool_result_blocks(server: ReplayServer) -> None:
    server.reply("anthropic_message_tool_use", "anthropic_after_tool_results")
    outcome = tool_round(anthropic(server), "claude-sonnet-4-20250514")

    first, second = (r.body for r in server.received)
    assert first["tools"] == [
        {
            "name": "search_transactions",
            "description": "Card transactions matching `query` in the last `days` days.",
            "input_schema": search_transactions.parameters,
        }
    ]
    assert second["messages"][0] == {"role": "user", "content": QUESTION}
    assistant, user = second["messages"][1:]
    assert assistant == {
        "role": "assistant",
        "content": [
            {
                "type": "text",
                "text": "I'll look up the transactions on your card for the last 30 days.",
            },
            {
                "type": "tool_use",
                "id": "toolu_01A09q90qw90lq917835lq9",
                "name": "search_transactions",
                "input": {"query": "card charged twice", "days": 30},
            },
        ],
    }
    [block] = user["content"]
    assert user["role"] == "user"
    assert (block["type"], block["tool_use_id"]) == ("tool_result", "toolu_01A09q90qw90lq917835lq9")
    assert "is_error" not in block
    assert json.loads(block["content"])[1]["amount"] == 42.1

    assert outcome.status == "ok"
    assert outcome.output.startswith("Both charges of $42.10")
    [attempt] = outcome.attempts
    assert attempt.output_tokens == 87 + 46
    assert [r.call_id for r in attempt.tool_runs] == ["toolu_01A09q90qw90lq917835lq9"]


def test_a_failing_tool_goes_back_to_anthropic_as_an_error_result(server: ReplayServer) -> None:
    @tool(name="search_transactions")
    def broken(query: str, days: int = 30) -> str:
        raise ToolError("the card ledger is being rebuilt, try again in a minute")

    server.reply("anthropic_message_tool_use", "anthropic_after_tool_results")
    spec = AgentSpec(
        name="transactions",
        description="Card and account transactions.",
        model="claude-sonnet-4-20250514",
        provider="anthropic",
        prompt=SYSTEM,
        tier="standard",
        tools=("search_transactions",),
    )

    async def run() -> Any:
        async with anthropic(server) as provider:
            context = InvocationContext(request_id="r-1", task_id="t-1")
            deps = InvocationDeps(tools=Toolbox([broken]))
            return await invoke(spec, provider, QUESTION, context=context, deps=deps)

    outcome = asyncio.run(run())
    [block] = server.received[1].body["messages"][2]["content"]
    assert block["is_error"] is True
    assert block["content"] == "the card ledger is being rebuilt, try again in a minute"
    assert outcome.status == "ok"
    assert outcome.attempts[0].tool_runs[0].error == block["content"]
