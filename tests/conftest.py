"""Shared fixtures. The broker starts once per session, and only if a test asks for it."""

from tests.harness import kafka_bootstrap, kafka_broker, stack
from tests.security_harness import secure_kafka

__all__ = ["kafka_bootstrap", "kafka_broker", "secure_kafka", "stack"]
