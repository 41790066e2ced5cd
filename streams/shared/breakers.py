"""Circuit-breaker state shared by every replica through the ``breakers`` topic.

Transitions are events (with their reason); each process folds them into the
latest state per breaker. The single half-open probe is agreed through the same
log: a replica that wants to probe publishes a claim for the breaker's epoch and
probes only if its claim is the first one for that epoch in the topic's total
order (one partition), which every replica reads identically.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from agents.resilience.breaker import BreakerTransition
from streams.codec import AvroCodec
from streams.events import envelope, new_trace_id
from streams.settings import Settings
from streams.shared.topic_view import TopicView

__all__ = ["KafkaBreakerBoard"]


class KafkaBreakerBoard:
    """A ``BreakerBoard`` over Kafka; ``start()`` before use, ``stop()`` after."""

    def __init__(self, settings: Settings, codec: AvroCodec, topic: str, *, role: str) -> None:
        self.replica = f"{role}@{uuid.uuid4().hex[:8]}"
        self._role = role
        self._states: dict[str, BreakerTransition] = {}
        self._first_claims: dict[tuple[str, int], str] = {}
        # Epochs this replica has already asked for. The log picks a replica, not a
        # caller: without this, every concurrent caller of the winning replica would
        # read its replica's win and probe (found by the store contract suite).
        self._asked: set[tuple[str, int]] = set()
        self._view = TopicView(settings, codec, topic, self._apply)

    async def start(self) -> None:
        await self._view.start()

    async def stop(self) -> None:
        await self._view.stop()

    async def sync(self) -> None:
        """Return once every event acknowledged on the topic so far is applied here."""
        await self._view.sync()

    def current(self, key: str) -> BreakerTransition | None:
        return self._states.get(key)

    async def publish(self, transition: BreakerTransition) -> None:
        # Applied locally at once (this replica stops calling immediately) and by
        # every replica when it reads the event back.
        self._remember(transition)
        await self._view.send(transition.key, "BreakerEvent", self._event("transition", transition))

    async def claim_probe(self, key: str, epoch: int) -> bool:
        """True for the one caller, cluster-wide, allowed to probe ``key`` in ``epoch``:
        the first caller in this replica, if this replica's claim is first on the topic."""
        slot = (key, epoch)
        # No await between the check and the add: one caller per replica goes on.
        if slot in self._asked or slot in self._first_claims:
            return False
        self._asked.add(slot)
        state = self._states.get(key)
        claim = {
            "key": key,
            "agent": state.agent if state else key.split("/", 1)[0],
            "model": state.model if state else key.split("/", 1)[-1],
            "from_state": "open",
            "to_state": "half_open",
            "epoch": epoch,
            "reason": f"{self.replica} claims the half-open probe of epoch {epoch}",
        }
        await self._view.send(
            f"{key}#claim",
            "BreakerEvent",
            self._event_from(claim, "probe_claim"),
            wait_applied=True,
        )
        return self._first_claims.get((key, epoch)) == self.replica

    def _apply(self, record: str, value: dict[str, Any], offset: int) -> None:
        if record != "BreakerEvent":
            return
        if value["kind"] == "probe_claim":
            self._first_claims.setdefault((value["key"], int(value["epoch"])), value["replica"])
            return
        self._remember(
            BreakerTransition(
                key=value["key"],
                agent=value["agent"],
                model=value["model"],
                from_state=value["from_state"],
                to_state=value["to_state"],
                reason=value["reason"],
                epoch=int(value["epoch"]),
                at=value["occurred_at"].timestamp(),
            )
        )

    def _remember(self, transition: BreakerTransition) -> None:
        known = self._states.get(transition.key)
        if known is None or (transition.epoch, transition.at) >= (known.epoch, known.at):
            self._states[transition.key] = transition

    def _event(self, kind: str, transition: BreakerTransition) -> dict[str, Any]:
        fields = {
            "key": transition.key,
            "agent": transition.agent,
            "model": transition.model,
            "from_state": transition.from_state,
            "to_state": transition.to_state,
            "epoch": transition.epoch,
            "reason": transition.reason,
        }
        event = self._event_from(fields, kind)
        event["occurred_at"] = dt.datetime.fromtimestamp(transition.at, dt.UTC)
        return event

    def _event_from(self, fields: dict[str, Any], kind: str) -> dict[str, Any]:
        return {
            **envelope(producer=self._role, trace_id=new_trace_id(), parent_span_id=None),
            **fields,
            "kind": kind,
            "replica": self.replica,
            "request_id": None,
        }
