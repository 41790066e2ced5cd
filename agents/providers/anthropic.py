"""`AnthropicProvider`: Claude models through Anthropic's Messages API.

One POST to `{base_url}/v1/messages` per call. The answer's `text` blocks are joined
into the response text and its `tool_use` blocks become tool calls; other block kinds
(e.g. `thinking`) are skipped. Errors are mapped as described in `_http`, including
Anthropic's 529 "overloaded" as a retriable `ModelUnavailable`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr

from agents.providers._http import HTTPProvider, Parsed, encode_tool_call, tool_parameters
from agents.providers.base import ModelRequest, ToolCall, ToolExchange

__all__ = ["AnthropicProvider"]


class AnthropicProvider(HTTPProvider):
    """A `ModelProvider` for Anthropic's Messages API; `version` is `anthropic-version`."""

    _path = "v1/messages"

    def __init__(
        self,
        api_key: SecretStr,
        *,
        base_url: str = "https://api.anthropic.com",
        version: str = "2023-06-01",
        name: str = "anthropic",
    ) -> None:
        super().__init__(
            name=name,
            base_url=base_url,
            api_key=api_key,
            extra_headers={"anthropic-version": version},
        )

    def _auth_headers(self) -> dict[str, str]:
        return {"x-api-key": self._secret()}

    def _body(self, request: ModelRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_output_tokens,
            "temperature": request.temperature,
            "messages": [{"role": "user", "content": request.input_text}],
        }
        for exchange in request.transcript:
            body["messages"].extend(_messages(exchange))
        if request.system_prompt:
            body["system"] = request.system_prompt
        if request.tools:
            body["tools"] = [_tool(request, tool) for tool in request.tools]
        return body

    def _parse(self, payload: Any) -> Parsed:
        message = _Message.model_validate(payload)
        texts: list[str] = []
        calls: list[ToolCall] = []
        for block in message.content:
            if block.type == "text":
                if block.text is None:
                    raise ValueError("a text block has no text")
                texts.append(block.text)
            elif block.type == "tool_use":
                if block.name is None:
                    raise ValueError("a tool_use block has no name")
                call_id = block.id or f"toolu_{len(calls)}"
                calls.append(ToolCall(id=call_id, name=block.name, arguments=block.input or {}))
        usage = message.usage
        return Parsed(
            text="".join(texts),
            tool_calls=tuple(encode_tool_call(c.name, c.arguments) for c in calls),
            model=message.model,
            input_tokens=_input_tokens(usage) if usage else None,
            output_tokens=usage.output_tokens if usage else None,
            calls=tuple(calls),
        )


def _tool(request: ModelRequest, tool: str) -> dict[str, Any]:
    spec = request.spec_of(tool)
    offered: dict[str, Any] = {"name": tool, "input_schema": tool_parameters(spec)}
    if spec.description:
        offered["description"] = spec.description
    return offered


def _messages(exchange: ToolExchange) -> list[dict[str, Any]]:
    """A tool round as Messages API turns: the assistant's `tool_use` blocks (after any
    text), then one user turn carrying a `tool_result` block per call."""
    content: list[dict[str, Any]] = []
    if exchange.text:
        content.append({"type": "text", "text": exchange.text})
    content.extend(
        {"type": "tool_use", "id": call.id, "name": call.name, "input": dict(call.arguments)}
        for call in exchange.calls
    )
    results = [
        {
            "type": "tool_result",
            "tool_use_id": result.call_id,
            "content": result.content,
            **({"is_error": True} if result.is_error else {}),
        }
        for result in exchange.results
    ]
    return [{"role": "assistant", "content": content}, {"role": "user", "content": results}]


def _input_tokens(usage: _Usage) -> int | None:
    if usage.input_tokens is None:
        return None
    # With prompt caching, `input_tokens` counts only the uncached part of the prompt;
    # the prompt's size is the sum (each part is priced differently, which is not
    # modelled here).
    cached = (usage.cache_creation_input_tokens or 0) + (usage.cache_read_input_tokens or 0)
    return usage.input_tokens + cached


# The parts of a Messages API answer we read; everything else is ignored.
class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Block(_Wire):
    type: str
    id: str | None = None
    text: str | None = None
    name: str | None = None
    input: dict[str, Any] | None = None


class _Usage(_Wire):
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None


class _Message(_Wire):
    model: str | None = None
    content: list[_Block]
    usage: _Usage | None = None
