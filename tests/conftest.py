"""Shared fixtures. The broker starts once per session, and only if a test asks for it."""

from tests.harness import kafka_bootstrap, stack

__all__ = ["kafka_bootstrap", "stack"]
