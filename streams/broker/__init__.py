"""The local Apache Kafka broker and the topics the runtime needs on it.

``LocalKafka`` runs a single-node KRaft broker from Maven-fetched jars under a
data directory; ``ensure_topics`` declares topics with explicit partition counts.
"""

from streams.broker.config import BrokerPaths, LocalKafkaConfig, SaslSslListener, ScramUser
from streams.broker.errors import (
    BrokerAuthError,
    BrokerError,
    BrokerStartError,
    BrokerUnavailableError,
    ToolchainError,
    TopicError,
)
from streams.broker.local import BrokerStatus, LocalKafka
from streams.broker.topics import TopicSpec, ensure_topics, wait_until_ready

__all__ = [
    "BrokerAuthError",
    "BrokerError",
    "BrokerPaths",
    "BrokerStartError",
    "BrokerStatus",
    "BrokerUnavailableError",
    "LocalKafka",
    "LocalKafkaConfig",
    "SaslSslListener",
    "ScramUser",
    "ToolchainError",
    "TopicError",
    "TopicSpec",
    "ensure_topics",
    "wait_until_ready",
]
