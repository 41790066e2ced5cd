"""One exception root for the streams package: callers branch on the class and its
``retriable`` flag, never on message text."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import streams
from streams.errors import StreamsError


def _streams_exceptions() -> list[type[BaseException]]:
    found = []
    for module_info in pkgutil.walk_packages(streams.__path__, "streams."):
        if module_info.name.startswith("streams.cli"):
            continue  # the CLI sits on top; it raises nothing of its own
        module = importlib.import_module(module_info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__ == module.__name__:
                found.append(obj)
    return found


def test_every_streams_exception_derives_from_streams_error() -> None:
    exceptions = _streams_exceptions()
    assert len(exceptions) >= 10
    strays = [e.__qualname__ for e in exceptions if not issubclass(e, StreamsError)]
    assert strays == []


def test_retriable_is_a_boolean_on_every_class() -> None:
    for exc in _streams_exceptions():
        assert isinstance(exc.retriable, bool), exc  # type: ignore[attr-defined]
