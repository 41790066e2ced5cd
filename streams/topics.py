"""Topic names and their configs, derived from the settings and the agent system."""

from __future__ import annotations

from agents.system import AgentSystem
from streams.broker.topics import TopicSpec
from streams.settings import Settings

__all__ = ["Topics"]


class Topics:
    """Full names of every topic of one deployment (prefix applied)."""

    def __init__(self, settings: Settings, system: AgentSystem) -> None:
        self._settings = settings
        self._system = system
        self.intake = settings.topic("intake")
        self.results = settings.topic("results")
        self.invocations = settings.topic("invocations")
        self.deadletter = settings.topic("deadletter")
        self.breakers = settings.topic("breakers")
        self.cache = settings.topic("cache")
        self.policies = settings.topic("policies")

    def tasks(self, agent: str) -> str:
        return self._settings.topic(f"tasks.{agent}")

    def all_tasks(self) -> list[str]:
        return [self.tasks(name) for name in self._system.names]

    def specs(self) -> list[TopicSpec]:
        """Every topic with its config: event topics keep everything (the log is the
        source of truth, and every projection can be rebuilt from it); shared-state
        topics are compacted (the latest value per key is the state). ``breakers`` has
        one partition: replicas agree on the one half-open probe by its total order."""
        parts, rf = self._settings.partitions, self._settings.replication_factor
        keep = {"retention.ms": "-1", "retention.bytes": "-1"}
        event_topics = [
            self.intake,
            self.results,
            self.invocations,
            self.deadletter,
            *self.all_tasks(),
        ]
        shared = [
            TopicSpec(self.breakers, 1, compacted=True, replication=rf),
            TopicSpec(self.cache, parts, compacted=True, replication=rf),
            TopicSpec(self.policies, 1, compacted=True, replication=rf),
        ]
        return [
            TopicSpec(name, parts, config=keep, replication=rf) for name in event_topics
        ] + shared
