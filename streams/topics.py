"""Topic names and their configs, derived from the settings and the agent system."""

from __future__ import annotations

from typing import Any

from agents.system import AgentSystem
from streams.broker.topics import TopicSpec
from streams.settings import Settings

__all__ = ["REPLY_TO", "Topics"]

REPLY_TO = "agentbus.reply_to"
"""Task metadata key naming where the task's result goes: ``replies`` for a step of a
workflow (pipeline, DAG, mesh hop), absent for a star request (``results``)."""


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
        self.flows = settings.topic("flows")
        self.replies = settings.topic("replies")
        self.workflow = settings.topic("workflow")
        self.capabilities = settings.topic("capabilities")

    def tasks(self, agent: str) -> str:
        return self._settings.topic(f"tasks.{agent}")

    def reply_topic(self, task: dict[str, Any]) -> str:
        """Where ``task``'s result goes: ``replies`` when an orchestrator waits for it,
        else ``results`` (any other value is treated as ``results``: a task can never
        make a specialist write to an arbitrary topic)."""
        metadata = task.get("metadata") or {}
        return self.replies if metadata.get(REPLY_TO) == "replies" else self.results

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
            self.flows,
            self.replies,
            self.workflow,
            *self.all_tasks(),
        ]
        shared = [
            TopicSpec(self.breakers, 1, compacted=True, replication=rf),
            TopicSpec(self.cache, parts, compacted=True, replication=rf),
            TopicSpec(self.policies, 1, compacted=True, replication=rf),
            TopicSpec(self.capabilities, 1, compacted=True, replication=rf),
        ]
        return [
            TopicSpec(name, parts, config=keep, replication=rf) for name in event_topics
        ] + shared
