"""What every JSON-over-HTTP model provider shares: one client, one error mapping.

`HTTPProvider` owns one `httpx.AsyncClient` (`start()`, idempotent `aclose()`,
`async with`) and turns a call into a `ModelResponse` or a `ProviderError`:

* no answer within the request's `timeout_s` (in total, not per read) -> `ModelTimeout`;
* connection failures, 5xx, 408/409 and Anthropic's 529 -> `ModelUnavailable`;
* 429 -> `RateLimited` with the server's `retry-after`;
* 401/403 -> `ProviderAuthError`; any other status -> `BadRequest`;
* a success whose body is not JSON or lacks the expected fields -> `MalformedOutput`.

The API key never leaves this module in clear: it is a `SecretStr`, unwrapped only into
the headers of each outgoing request, redacted from any server text quoted in an error,
and absent from `repr`, logs and exception chains.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import warnings
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Self

import httpx
from pydantic import SecretStr, ValidationError

from agents.errors import (
    BadRequest,
    ConfigError,
    MalformedOutput,
    ModelTimeout,
    ModelUnavailable,
    ProviderAuthError,
    ProviderError,
    RateLimited,
)
from agents.providers.base import EMPTY_PARAMETERS, ModelRequest, ModelResponse, ToolCall, ToolSpec
from agents.tokens import estimate_tokens

__all__ = ["HTTPProvider", "Parsed", "encode_tool_call", "tool_parameters", "transcript_tokens"]

log = logging.getLogger("agents.providers")

_DETAIL_CHARS = 300  # enough for any provider's error message, short enough for a log line
_OUTPUT_CHARS = 2000  # how much of an unusable body MalformedOutput keeps for inspection
# Key-shaped tokens (OpenAI "sk-...", Anthropic "sk-ant-...") that some servers echo back,
# partly masked, in auth errors; redacted even when they are not our key.
_KEY_LIKE = re.compile(r"\bsk-[A-Za-z0-9_*\-]{6,}")
# 408/409 are retried by the official SDKs too: the server gave up or hit a lock, the
# request itself was fine. 529 is Anthropic's "overloaded".
_RETRIABLE_4XX = frozenset({408, 409})


@dataclass(frozen=True, slots=True)
class Parsed:
    """What a provider read from a successful body; `None` token counts are estimated."""

    text: str
    tool_calls: tuple[str, ...]
    model: str | None
    input_tokens: int | None
    output_tokens: int | None
    calls: tuple[ToolCall, ...] = ()


def encode_tool_call(name: str, arguments: object) -> str:
    """One tool call as compact, key-sorted JSON: `{"arguments":...,"name":...}`."""
    call = {"name": name, "arguments": arguments}
    return json.dumps(call, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def tool_parameters(spec: ToolSpec | None = None) -> dict[str, Any]:
    """The JSON schema offered for a tool: its own, or any object for a bare name."""
    return dict(spec.parameters if spec is not None else EMPTY_PARAMETERS)


def transcript_tokens(request: ModelRequest) -> int:
    """Estimated tokens of the tool rounds a request carries (calls and results)."""
    return sum(
        estimate_tokens(exchange.text)
        + sum(estimate_tokens(json.dumps(dict(c.arguments))) for c in exchange.calls)
        + sum(estimate_tokens(r.content) for r in exchange.results)
        for exchange in request.transcript
    )


class HTTPProvider(ABC):
    """A `ModelProvider` that POSTs one JSON body per call; subclasses shape body and parse.

    `complete` starts the client on first use; `aclose` (or leaving `async with`) closes
    it, after which the provider cannot be used again. A provider garbage-collected with
    its client still open emits a `ResourceWarning`.
    """

    _path: str
    """Where calls are POSTed, relative to `base_url`."""

    def __init__(
        self,
        *,
        name: str,
        base_url: str,
        api_key: SecretStr | None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        if api_key is not None and not isinstance(api_key, SecretStr):
            # A plain string would end up in reprs and logs sooner or later.
            raise ConfigError(f"provider {name!r}: api_key must be a pydantic SecretStr")
        url = httpx.URL(base_url)
        if url.scheme not in {"http", "https"} or not url.host:
            raise ConfigError(f"provider {name!r}: base_url must be an http(s) URL")
        if url.userinfo:
            # Credentials in the URL would show in reprs and error messages.
            raise ConfigError(f"provider {name!r}: pass credentials as api_key, not in base_url")
        self._name = name
        self._base_url = url
        self._api_key = api_key
        self._extra_headers = dict(extra_headers or {})
        self._client: httpx.AsyncClient | None = None
        self._closed = False

    @property
    def name(self) -> str:
        """The provider name recorded on every `Invocation`."""
        return self._name

    @property
    def base_url(self) -> str:
        """The server this provider talks to."""
        return str(self._base_url)

    async def start(self) -> None:
        """Open the HTTP client; does nothing if it is already open."""
        self._open_client()

    async def aclose(self) -> None:
        """Close the HTTP client; safe to call any number of times, started or not."""
        self._closed = True
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open" if self._client else "not started"
        return f"<{type(self).__name__} name={self._name!r} base_url={self.base_url!r} {state}>"

    def __del__(self) -> None:
        if getattr(self, "_client", None) is not None:
            warnings.warn(
                f"{self!r} was never closed; call aclose() or use `async with`",
                ResourceWarning,
                source=self,
                stacklevel=1,
            )

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Make the call; raises a `ProviderError` subclass as listed in the module doc."""
        client = self._open_client()
        headers = {**self._extra_headers, **self._auth_headers()}
        started = time.perf_counter()
        try:
            # asyncio.timeout bounds the whole call; httpx's own timeout is per phase
            # (connect, each read), so a slowly trickling answer could outlive it.
            async with asyncio.timeout(request.timeout_s):
                response = await client.post(
                    self._path,
                    json=self._body(request),
                    headers=headers,
                    timeout=request.timeout_s,
                )
        except (TimeoutError, httpx.TimeoutException) as exc:
            # `from None` throughout: httpx exceptions hold the request, and its headers
            # hold the key.
            raise ModelTimeout(
                f"{self._name}: no answer within {request.timeout_s:g}s ({type(exc).__name__})",
                timeout_s=request.timeout_s,
                agent=request.metadata.get("agent"),
                model=request.model,
            ) from None
        except httpx.TransportError as exc:
            raise ModelUnavailable(
                f"{self._name}: cannot reach {self.base_url} ({type(exc).__name__})",
                agent=request.metadata.get("agent"),
                model=request.model,
            ) from None
        latency_ms = (time.perf_counter() - started) * 1000.0
        log.debug(
            "%s %s -> HTTP %d in %.0f ms",
            self._name,
            request.model,
            response.status_code,
            latency_ms,
        )
        if not response.is_success:
            raise self._status_error(request, response)
        return self._response(request, response, latency_ms)

    def _open_client(self) -> httpx.AsyncClient:
        if self._closed:
            raise RuntimeError(f"provider {self._name!r} is closed")
        if self._client is None:
            # No client-wide timeout: each call passes its request's own `timeout_s`.
            self._client = httpx.AsyncClient(base_url=self._base_url, timeout=None)
        return self._client

    @abstractmethod
    def _auth_headers(self) -> dict[str, str]:
        """Headers that authenticate one request (built per call, never stored)."""

    @abstractmethod
    def _body(self, request: ModelRequest) -> dict[str, Any]:
        """The JSON body for `request`."""

    @abstractmethod
    def _parse(self, payload: Any) -> Parsed:
        """Read a decoded success body; raise `ValueError` (e.g. a pydantic
        `ValidationError`) if it is not the expected shape."""

    def _secret(self) -> str:
        return self._api_key.get_secret_value() if self._api_key is not None else ""

    def _redact(self, text: str) -> str:
        secret = self._secret()
        if secret:
            text = text.replace(secret, "[redacted]")
        return _KEY_LIKE.sub("[redacted]", text)

    def _response(
        self, request: ModelRequest, response: httpx.Response, latency_ms: float
    ) -> ModelResponse:
        try:
            payload = response.json()
        except ValueError:  # JSONDecodeError, or UnicodeDecodeError for undecodable bytes
            raise self._malformed(request, response, "a body that is not JSON") from None
        try:
            parsed = self._parse(payload)
        except ValueError as exc:
            raise self._malformed(request, response, f"an unusable body ({_why(exc)})") from None
        input_tokens = parsed.input_tokens
        if input_tokens is None:
            input_tokens = (
                estimate_tokens(request.system_prompt)
                + estimate_tokens(request.input_text)
                + transcript_tokens(request)
            )
        output_tokens = parsed.output_tokens
        if output_tokens is None:
            output_tokens = estimate_tokens(parsed.text) + sum(
                estimate_tokens(call) for call in parsed.tool_calls
            )
        return ModelResponse(
            text=parsed.text,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            latency_ms=latency_ms,
            model=parsed.model or request.model,
            tool_calls=parsed.tool_calls,
            calls=parsed.calls,
        )

    def _malformed(
        self, request: ModelRequest, response: httpx.Response, what: str
    ) -> MalformedOutput:
        return MalformedOutput(
            self._redact(f"{self._name}: HTTP {response.status_code} with {what}"),
            output=self._redact(response.text[:_OUTPUT_CHARS]),
            agent=request.metadata.get("agent"),
            model=request.model,
        )

    def _status_error(self, request: ModelRequest, response: httpx.Response) -> ProviderError:
        status = response.status_code
        detail = self._redact(_detail(response.text))
        agent = request.metadata.get("agent")
        model = request.model
        prefix = f"{self._name}: HTTP {status}"
        if status == 429:
            retry_after = _retry_after_s(response.headers)
            wait = f", retry after {retry_after:g}s" if retry_after is not None else ""
            return RateLimited(
                f"{prefix} rate limited{wait}: {detail}",
                retry_after_s=retry_after,
                agent=agent,
                model=model,
            )
        if status >= 500 or status in _RETRIABLE_4XX:
            return ModelUnavailable(f"{prefix} unavailable: {detail}", agent=agent, model=model)
        if status in {401, 403}:
            return ProviderAuthError(
                f"{prefix} credentials rejected: {detail}", agent=agent, model=model
            )
        return BadRequest(f"{prefix} request rejected: {detail}", agent=agent, model=model)


def _why(exc: ValueError) -> str:
    """The first reason a body was unusable, without echoing the body itself."""
    if isinstance(exc, ValidationError):
        first = exc.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        return f"{where}: {first['msg']}"
    return str(exc)


def _detail(body: str) -> str:
    """The server's own error message, from the shapes OpenAI, Anthropic, vLLM and
    FastAPI-style servers use, else the start of the raw body."""
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    message: object = None
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict):
            message = error.get("message")
        elif isinstance(error, str):
            message = error
        message = message or payload.get("message") or payload.get("detail")
    text = message if isinstance(message, str) else body
    text = " ".join(text.split())
    return (text[:_DETAIL_CHARS] + "…") if len(text) > _DETAIL_CHARS else text or "(empty body)"


def _retry_after_s(headers: httpx.Headers) -> float | None:
    """Seconds to wait from `retry-after-ms` or `retry-after` (seconds or an HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; a naive result means it was omitted
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
