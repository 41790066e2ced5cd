"""`Tool`: a typed Python callable a model may call, and the `@tool` decorator.

A tool's arguments are a pydantic model, built from the function's signature or given
explicitly; its JSON schema is what the model is offered, and every call is validated
against it before the function runs. Sync functions run in a worker thread so a slow
one cannot stall the event loop; async ones are awaited. A function that declares a
parameter annotated `ToolContext` receives the call's context (ids and the idempotency
key) there; that parameter is not part of the arguments.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import typing
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, overload

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, create_model
from pydantic_core import core_schema

from agents.errors import ConfigError
from agents.providers.base import EMPTY_PARAMETERS, ToolSpec

__all__ = ["DEFAULT_TOOL_TIMEOUT_S", "RemoteCall", "Tool", "ToolContext", "tool"]

DEFAULT_TOOL_TIMEOUT_S = 10.0
"""How long one call of a tool may take unless the tool says otherwise."""

# OpenAI's rule for function names, the strictest of the providers'.
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True, slots=True)
class ToolContext:
    """What a tool learns about the call it serves.

    `idempotency_key` is derived from the task, the tool and the call's validated
    arguments (and how many identical calls came before it in the same attempt), never
    from time or chance: when a task is redelivered (a worker died before committing)
    or an attempt is retried, the same call gets the same key. A tool with side effects
    passes it to the system the effect happens in (an `Idempotency-Key` header, a
    unique column) or checks an `IdempotencyLedger`, so the effect happens once.
    """

    task_id: str
    request_id: str
    tenant: str
    agent: str
    tool: str
    call_id: str
    """The provider's id of this call."""
    idempotency_key: str


RemoteCall = Callable[[Mapping[str, Any], ToolContext], Awaitable[Any]]
"""How a tool that lives elsewhere (an MCP server) is called: arguments and context in,
a JSON-able result out."""


@dataclass(frozen=True, slots=True)
class BoundCall:
    """A call whose arguments passed validation, ready to run."""

    arguments: Mapping[str, Any]
    """The validated arguments as JSON values: what the record and the key are made of."""
    run: Callable[[ToolContext], Awaitable[Any]]


class Tool:
    """A callable a model may use, with its name, description and argument schema.

    `Tool(function)` (or `@tool`) builds the argument model from the function's
    signature; `args=` gives one explicitly, and the function then takes a single
    instance of it. `side_effects=True` marks a tool that changes the world: its record
    carries the idempotency key it was given (see `ToolContext`). `timeout_s` bounds
    one call; a sync function still running then is left to finish in its thread.
    Calling the `Tool` itself calls the function, so decorated functions stay testable.
    """

    __slots__ = (
        "_bind",
        "_function",
        "args_model",
        "description",
        "name",
        "parameters",
        "side_effects",
        "source",
        "timeout_s",
    )

    name: str
    description: str
    parameters: Mapping[str, Any]
    """JSON schema of the arguments object, as offered to the model."""
    args_model: type[BaseModel] | None
    """The pydantic model arguments are validated with; None for a remote tool (its
    server validates)."""
    side_effects: bool
    timeout_s: float
    source: str
    """Where the tool runs: "python", or "mcp:<server>"."""

    def __init__(
        self,
        function: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        args: type[BaseModel] | None = None,
        side_effects: bool = False,
        timeout_s: float = DEFAULT_TOOL_TIMEOUT_S,
    ) -> None:
        tool_name: str = name or str(getattr(function, "__name__", ""))
        hints, context_param, params = _signature(function, tool_name)
        if args is not None:
            if len(params) != 1:
                raise ConfigError(
                    f"tool {tool_name!r}: with args={args.__name__} the function must take "
                    f"exactly one argument besides the context, not {len(params)}"
                )
            model = args
        else:
            model = _model_from(tool_name, params, hints)
        explicit = args is not None
        run_sync = not inspect.iscoroutinefunction(function)
        arg_name = params[0].name if explicit else None

        def bind(arguments: Mapping[str, Any]) -> BoundCall:
            validated = model.model_validate(dict(arguments))
            if arg_name is not None:
                kwargs: dict[str, Any] = {arg_name: validated}
            else:
                kwargs = {
                    field: getattr(validated, field) for field in type(validated).model_fields
                }

            async def run(context: ToolContext) -> Any:
                call_kwargs = dict(kwargs)
                if context_param is not None:
                    call_kwargs[context_param] = context
                if run_sync:
                    return await asyncio.to_thread(function, **call_kwargs)
                return await function(**call_kwargs)

            return BoundCall(validated.model_dump(mode="json"), run)

        self._init(
            name=tool_name,
            description=description if description is not None else _doc(function),
            parameters=model.model_json_schema(),
            args_model=model,
            side_effects=side_effects,
            timeout_s=timeout_s,
            source="python",
            bind=bind,
            function=function,
        )

    @classmethod
    def remote(
        cls,
        name: str,
        call: RemoteCall,
        *,
        description: str = "",
        parameters: Mapping[str, Any] = EMPTY_PARAMETERS,
        side_effects: bool = False,
        timeout_s: float = DEFAULT_TOOL_TIMEOUT_S,
        source: str = "remote",
    ) -> Tool:
        """A tool that runs elsewhere: `call` gets the model's arguments as they are
        (the remote end validates them against `parameters`) and the context."""

        def bind(arguments: Mapping[str, Any]) -> BoundCall:
            given = dict(arguments)

            async def run(context: ToolContext) -> Any:
                return await call(given, context)

            return BoundCall(given, run)

        instance = cls.__new__(cls)
        instance._init(
            name=name,
            description=description,
            parameters=parameters,
            args_model=None,
            side_effects=side_effects,
            timeout_s=timeout_s,
            source=source,
            bind=bind,
            function=None,
        )
        return instance

    def _init(
        self,
        *,
        name: str,
        description: str,
        parameters: Mapping[str, Any],
        args_model: type[BaseModel] | None,
        side_effects: bool,
        timeout_s: float,
        source: str,
        bind: Callable[[Mapping[str, Any]], BoundCall],
        function: Callable[..., Any] | None,
    ) -> None:
        if not _NAME.fullmatch(name):
            raise ConfigError(
                f"tool name {name!r} must be 1-64 letters, digits, '_' or '-' "
                "(what every provider accepts)"
            )
        if not timeout_s > 0:
            raise ConfigError(f"tool {name!r}: timeout_s must be positive, not {timeout_s}")
        self.name = name
        self.description = description
        self.parameters = MappingProxyType(dict(parameters))
        self.args_model = args_model
        self.side_effects = side_effects
        self.timeout_s = timeout_s
        self.source = source
        self._bind = bind
        self._function = function

    @property
    def spec(self) -> ToolSpec:
        """How the tool is offered to a model."""
        return ToolSpec(self.name, self.description, self.parameters)

    def bind(self, arguments: Mapping[str, Any]) -> BoundCall:
        """Validate `arguments`; raises pydantic's `ValidationError` if they do not fit."""
        return self._bind(arguments)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the underlying function directly (no validation, no timeout)."""
        if self._function is None:
            raise TypeError(f"tool {self.name!r} runs on {self.source}; use bind() and run()")
        return self._function(*args, **kwargs)

    def __repr__(self) -> str:
        effects = ", side_effects=True" if self.side_effects else ""
        return f"Tool({self.name!r}, source={self.source!r}{effects})"

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source_type: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        # Lets pydantic models (AgentSystem) hold tools as they are.
        return core_schema.is_instance_schema(cls)


@overload
def tool(function: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    args: type[BaseModel] | None = None,
    side_effects: bool = False,
    timeout_s: float = DEFAULT_TOOL_TIMEOUT_S,
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    function: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    args: type[BaseModel] | None = None,
    side_effects: bool = False,
    timeout_s: float = DEFAULT_TOOL_TIMEOUT_S,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a `Tool` of a typed function: `@tool` or `@tool(side_effects=True, ...)`.

    The description is the docstring unless given; the arguments are the function's
    parameters (their annotations and defaults) unless `args` names a model.
    """

    def build(fn: Callable[..., Any]) -> Tool:
        return Tool(
            fn,
            name=name,
            description=description,
            args=args,
            side_effects=side_effects,
            timeout_s=timeout_s,
        )

    return build(function) if function is not None else build


def _signature(
    function: Callable[..., Any], name: str
) -> tuple[dict[str, Any], str | None, list[inspect.Parameter]]:
    """Type hints, the context parameter's name, and the argument parameters."""
    if not callable(function):
        raise ConfigError(f"tool {name!r}: {function!r} is not callable")
    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except (NameError, TypeError) as exc:
        # Names local to where the function was defined (a model declared beside it)
        # cannot be resolved later; fine with `args=`, fatal for a signature model.
        hints = {"__unresolved__": str(exc)}
    context_param: str | None = None
    params: list[inspect.Parameter] = []
    for param in inspect.signature(function).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ConfigError(f"tool {name!r}: *args and **kwargs cannot be offered to a model")
        hint = hints.get(param.name, param.annotation)
        if hint is ToolContext or hint == "ToolContext":
            context_param = param.name
        else:
            params.append(param)
    return hints, context_param, params


def _model_from(
    name: str, params: list[inspect.Parameter], hints: Mapping[str, Any]
) -> type[BaseModel]:
    if "__unresolved__" in hints:
        raise ConfigError(
            f"tool {name!r}: cannot resolve its annotations ({hints['__unresolved__']}); "
            "define the types it uses at module level or pass args="
        )
    fields: dict[str, Any] = {
        param.name: (
            hints.get(param.name, Any),
            ... if param.default is inspect.Parameter.empty else param.default,
        )
        for param in params
    }
    model: type[BaseModel] = create_model(name, __config__=ConfigDict(extra="forbid"), **fields)
    return model


def _doc(function: Callable[..., Any]) -> str:
    return inspect.cleandoc(function.__doc__) if function.__doc__ else ""
