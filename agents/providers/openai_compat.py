"""`OpenAICompatProvider`: any server speaking OpenAI's chat completions API.

One POST to `{base_url}/chat/completions` per call, which covers OpenAI itself
(`base_url="https://api.openai.com/v1"`) and the self-hosted servers that copy its API:
vLLM, Ollama (`http://localhost:11434/v1`), llama.cpp's server. Servers that report no
`usage` get estimated token counts. Errors are mapped as described in `_http`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from agents.providers._http import HTTPProvider, Parsed, encode_tool_call, tool_parameters
from agents.providers.base import ModelRequest, ToolCall, ToolExchange

__all__ = ["OpenAICompatProvider"]


class OpenAICompatProvider(HTTPProvider):
    """A `ModelProvider` for OpenAI-compatible chat completion servers.

    `api_key` may be `None` for local servers that need none; `extra_headers` are sent
    with every call (e.g. `OpenAI-Organization`).
    """

    _path = "chat/completions"

    def __init__(
        self,
        base_url: str,
        api_key: SecretStr | None,
        *,
        name: str = "openai",
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(name=name, base_url=base_url, api_key=api_key, extra_headers=extra_headers)

    def _auth_headers(self) -> dict[str, str]:
        secret = self._secret()
        return {"Authorization": f"Bearer {secret}"} if secret else {}

    def _body(self, request: ModelRequest) -> dict[str, Any]:
        messages: list[dict[str, Any]] = [{"role": "user", "content": request.input_text}]
        if request.system_prompt:
            messages.insert(0, {"role": "system", "content": request.system_prompt})
        for exchange in request.transcript:
            messages.extend(_messages(exchange))
        body: dict[str, Any] = {
            "model": request.model,
            "messages": messages,
            "temperature": request.temperature,
            "max_tokens": request.max_output_tokens,
        }
        if request.tools:
            body["tools"] = [_function(request, tool) for tool in request.tools]
        return body

    def _parse(self, payload: Any) -> Parsed:
        completion = _Completion.model_validate(payload)
        message = completion.choices[0].message
        usage = completion.usage
        calls = tuple(
            ToolCall(id=call.id or f"call_{index}", name=call.function.name, arguments=args)
            for index, call in enumerate(message.tool_calls or ())
            for args in (_arguments(call.function),)
        )
        return Parsed(
            text=message.content or "",
            tool_calls=tuple(encode_tool_call(c.name, c.arguments) for c in calls),
            model=completion.model,
            input_tokens=usage.prompt_tokens if usage else None,
            output_tokens=usage.completion_tokens if usage else None,
            calls=calls,
        )


def _function(request: ModelRequest, tool: str) -> dict[str, Any]:
    spec = request.spec_of(tool)
    function: dict[str, Any] = {"name": tool, "parameters": tool_parameters(spec)}
    if spec.description:
        function["description"] = spec.description
    return {"type": "function", "function": function}


def _messages(exchange: ToolExchange) -> list[dict[str, Any]]:
    """A tool round as chat messages: the assistant's calls, then one `tool` message each."""
    assistant = {
        "role": "assistant",
        "content": exchange.text or None,
        "tool_calls": [
            {
                "id": call.id,
                "type": "function",
                "function": {
                    "name": call.name,
                    "arguments": json.dumps(dict(call.arguments), ensure_ascii=False),
                },
            }
            for call in exchange.calls
        ],
    }
    results = [
        {"role": "tool", "tool_call_id": result.call_id, "content": result.content}
        for result in exchange.results
    ]
    return [assistant, *results]


def _arguments(function: _Function) -> dict[str, Any]:
    arguments: object = function.arguments
    if isinstance(arguments, str):
        # OpenAI sends arguments as a JSON string the model wrote; broken JSON there is
        # malformed output, which `HTTPProvider` learns of as a ValueError.
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            why = f"tool call {function.name!r} has arguments that are not JSON"
            raise ValueError(why) from None
    if not isinstance(arguments, dict):
        # ValueError, not TypeError: `HTTPProvider` maps ValueError to malformed output.
        why = f"tool call {function.name!r} has arguments that are not an object"
        raise ValueError(why)  # noqa: TRY004
    return arguments


# The parts of a chat completion we read; everything else is ignored.
class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Function(_Wire):
    name: str
    arguments: str | dict[str, Any] = "{}"


class _ToolCall(_Wire):
    id: str | None = None
    function: _Function


class _Message(_Wire):
    content: str | None = None
    tool_calls: list[_ToolCall] | None = None


class _Choice(_Wire):
    message: _Message


class _Usage(_Wire):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class _Completion(_Wire):
    model: str | None = None
    choices: list[_Choice] = Field(min_length=1)
    usage: _Usage | None = None
