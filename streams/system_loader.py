"""Load the user's `AgentSystem` from ``module:attribute`` (``--system`` / AGENTBUS_SYSTEM).

The attribute is an `AgentSystem` or a zero-argument callable returning one. Every way
this can go wrong is a :class:`SystemLoadError` whose message is the one line the CLI
prints (exit code 2): a bad reference, a module that is not found or fails to import,
a missing attribute, the wrong type, an invalid system.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from pydantic import ValidationError

from agents.errors import AgentError
from agents.system import AgentSystem
from streams.errors import StreamsError

__all__ = ["DEFAULT_SYSTEM", "SystemLoadError", "load_system"]

DEFAULT_SYSTEM = "agents.reference:fintech_system"
"""The fintech reference system, used when no system is named."""


class SystemLoadError(StreamsError):
    """The named system cannot be loaded; the message says why, in one line."""


def load_system(ref: str) -> AgentSystem:
    """The system ``ref`` (``module:attribute``) names; the working directory is on the
    import path, as with ``python -m``, so a user's own module is found."""
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name.strip() or not attr.strip():
        raise SystemLoadError(
            f"system {ref!r}: expected module:attribute, e.g. myagents.claims:system"
        )
    module = _import(ref, module_name)
    if not hasattr(module, attr):
        raise SystemLoadError(f"system {ref!r}: module {module_name!r} has no attribute {attr!r}")
    target = getattr(module, attr)
    if isinstance(target, AgentSystem):
        return target
    if not callable(target):
        raise SystemLoadError(
            f"system {ref!r}: {attr!r} is a {type(target).__name__}, not an AgentSystem "
            "or a function returning one"
        )
    system = _call(ref, attr, target)
    if not isinstance(system, AgentSystem):
        raise SystemLoadError(
            f"system {ref!r}: {attr}() returned a {type(system).__name__}, not an AgentSystem"
        )
    return system


def _import(ref: str, module_name: str) -> ModuleType:
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing and (module_name == missing or module_name.startswith(f"{missing}.")):
            raise SystemLoadError(
                f"system {ref!r}: module {module_name!r} not found (run from the folder that "
                "holds it, or install it)"
            ) from None
        raise SystemLoadError(f"system {ref!r}: importing {module_name!r} failed: {exc}") from None
    except (ValidationError, AgentError) as exc:
        raise SystemLoadError(f"system {ref!r}: invalid system: {_first_error(exc)}") from None
    except Exception as exc:  # noqa: BLE001  # user code: whatever it raises is one line
        raise SystemLoadError(
            f"system {ref!r}: importing {module_name!r} failed: {type(exc).__name__}: {exc}"
        ) from None


def _call(ref: str, attr: str, target: Callable[[], object]) -> object:
    try:
        return target()
    except (ValidationError, AgentError) as exc:
        raise SystemLoadError(f"system {ref!r}: invalid system: {_first_error(exc)}") from None
    except TypeError as exc:
        raise SystemLoadError(f"system {ref!r}: {attr!r} must take no arguments: {exc}") from None
    except Exception as exc:  # noqa: BLE001  # user code: whatever it raises is one line
        raise SystemLoadError(
            f"system {ref!r}: {attr}() failed: {type(exc).__name__}: {exc}"
        ) from None


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"{where}: {first['msg']}" if where else str(first["msg"])
    return " ".join(str(exc).split())
