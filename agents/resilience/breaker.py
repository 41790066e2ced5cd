"""Circuit breakers per (agent, model), with state shared by every replica.

A breaker is closed while calls succeed. After `threshold` consecutive failures it
opens: no call is made for `cooldown_s`, and callers go to the agent's fallback. Then
exactly one call, cluster-wide, is let through as a probe (half-open); its success
closes the breaker, its failure opens it for another cooldown.

Each replica counts its own consecutive failures (`CircuitBreaker`); the state itself
lives on a `BreakerBoard` every replica reads, as a log of `BreakerTransition`s, each
with a human reason. `LocalBreakerBoard` is the in-process board (the default, and the
test double); a board shared over Kafka implements the same three methods.

Epochs number the breaker's rounds: each opening, and each new probe after a probe
that never reported, starts a new epoch, and `claim_probe` grants one probe per epoch.
A probe that never reports (its process died) is replaced after another cooldown.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from agents.errors import ConfigError

__all__ = [
    "Admission",
    "BreakerBoard",
    "BreakerPolicy",
    "BreakerRegistry",
    "BreakerState",
    "BreakerTransition",
    "CircuitBreaker",
    "LocalBreakerBoard",
    "breaker_key",
]

BreakerState = Literal["closed", "open", "half_open"]


class BreakerPolicy(BaseModel):
    """When an agent's breaker opens and how long it stays open."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    threshold: int = Field(default=3, ge=1)
    """Consecutive failed attempts (on one replica) that open the breaker."""
    cooldown_s: float = Field(default=30.0, gt=0.0)
    """Seconds the breaker stays open before one probe is let through."""


def breaker_key(agent: str, model: str) -> str:
    """The key of the breaker guarding `agent` on `model` ("support/sim-small")."""
    return f"{agent}/{model}"


@dataclass(frozen=True, slots=True)
class BreakerTransition:
    """One change of a breaker's state; published as an event."""

    key: str
    agent: str
    model: str
    from_state: BreakerState
    to_state: BreakerState
    reason: str
    """Why, in words an operator understands."""
    epoch: int
    at: float
    """When, as a `time.time()` value of the replica that made the change."""


@runtime_checkable
class BreakerBoard(Protocol):
    """Where breaker state is shared between replicas.

    Promises: `current` returns the latest transition published for `key` (highest
    epoch; within an epoch, the last published); `claim_probe` returns True to exactly
    one caller per `(key, epoch)` across every replica sharing the board.
    """

    def current(self, key: str) -> BreakerTransition | None:
        """Latest transition of `key`, or None if it never left "closed"."""
        ...

    async def publish(self, transition: BreakerTransition) -> None:
        """Make `transition` the state every replica sees."""
        ...

    async def claim_probe(self, key: str, epoch: int) -> bool:
        """True for the one caller allowed to probe `key` in `epoch`."""
        ...


class LocalBreakerBoard:
    """A `BreakerBoard` within one process; keeps the last `history_size` transitions."""

    def __init__(self, history_size: int = 1000) -> None:
        self._latest: dict[str, BreakerTransition] = {}
        self._claimed: dict[str, int] = {}
        self._history: collections.deque[BreakerTransition] = collections.deque(maxlen=history_size)

    def current(self, key: str) -> BreakerTransition | None:
        """Latest transition of `key`, or None."""
        return self._latest.get(key)

    async def publish(self, transition: BreakerTransition) -> None:
        """Record `transition` unless a later epoch is already current."""
        latest = self._latest.get(transition.key)
        if latest is None or transition.epoch >= latest.epoch:
            self._latest[transition.key] = transition
        self._history.append(transition)

    async def claim_probe(self, key: str, epoch: int) -> bool:
        """True once per `(key, epoch)`; one claimed epoch per key is remembered."""
        # No await between the check and the write: atomic under asyncio.
        if self._claimed.get(key, -1) >= epoch:
            return False
        self._claimed[key] = epoch
        return True

    def history(self, key: str | None = None) -> tuple[BreakerTransition, ...]:
        """Transitions published, oldest first, for `key` or for every key."""
        return tuple(t for t in self._history if key is None or t.key == key)


@dataclass(frozen=True, slots=True)
class Admission:
    """Whether one call may go ahead, and what the breaker looked like."""

    allowed: bool
    state: BreakerState
    """The state the call was made (or refused) under; "half_open" for the probe."""
    probe: bool = False
    epoch: int = 0
    reason: str | None = None
    """Why the call was refused."""
    transition: BreakerTransition | None = None
    """The open → half-open transition, when this call is the probe."""
    seq: int = -1
    """Start order of an admitted non-probe call on this replica (-1 otherwise)."""


class CircuitBreaker:
    """One replica's view of the breaker `key` ("agent/model") on a shared `board`.

    Call `admit()` before a model call and, if allowed, exactly one of
    `record_success`/`record_failure` after it. Each returns the transition it
    published, if any, so the caller can report it.
    """

    def __init__(
        self,
        key: str,
        board: BreakerBoard,
        threshold: int = 3,
        cooldown_s: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if threshold < 1 or cooldown_s <= 0:
            raise ConfigError(
                f"breaker {key!r} needs threshold >= 1 and cooldown_s > 0, "
                f"got {threshold} and {cooldown_s}"
            )
        self.key = key
        self.agent, _, self.model = key.partition("/")
        self._board = board
        self._threshold = threshold
        self._cooldown_s = cooldown_s
        self._clock = clock
        # "Consecutive" is in the order calls *started*: under a burst, fast failures
        # finish before slow successes that started earlier, and must not count as
        # a run. Outcomes by start number; a run counts only over settled calls.
        self._next_seq = 0
        self._in_flight: set[int] = set()
        self._outcomes: dict[int, bool] = {}
        self._last_error = ""

    @property
    def consecutive_failures(self) -> int:
        """Failures in a row, in start order, among this replica's settled calls."""
        settled = min(self._in_flight) - 1 if self._in_flight else self._next_seq - 1
        run = 0
        while self._outcomes.get(settled - run) is False:
            run += 1
        return run

    def abandon(self, admission: Admission) -> None:
        """Forget a call that ended without an outcome (cancelled): it no longer blocks runs."""
        self._in_flight.discard(admission.seq)

    def _settle(self, admission: Admission, ok: bool) -> None:
        if admission.seq < 0:
            return
        self._in_flight.discard(admission.seq)
        self._outcomes[admission.seq] = ok
        if len(self._outcomes) > 4 * self._threshold + len(self._in_flight) + 64:
            # Bounded: only the tail of settled outcomes can still form a run.
            keep = min(self._in_flight, default=self._next_seq) - 2 * self._threshold
            for seq in [s for s in self._outcomes if s < keep]:
                del self._outcomes[seq]

    def _reset(self) -> None:
        self._outcomes.clear()

    @property
    def state(self) -> BreakerState:
        """The shared state as this replica sees it now."""
        latest = self._board.current(self.key)
        return "closed" if latest is None else latest.to_state

    async def admit(self) -> Admission:
        """Decide whether a call may go ahead now; claims the probe when it is due."""
        latest = self._board.current(self.key)
        if latest is None or latest.to_state == "closed":
            seq = self._next_seq
            self._next_seq += 1
            self._in_flight.add(seq)
            epoch = latest.epoch if latest else 0
            return Admission(allowed=True, state="closed", epoch=epoch, seq=seq)
        now = self._clock()
        waited = now - latest.at
        if waited < self._cooldown_s:
            if latest.to_state == "open":
                reason = (
                    f"circuit open for {self.key} ({latest.reason}); next probe in "
                    f"{self._cooldown_s - waited:.1f}s"
                )
            else:
                reason = f"circuit half-open for {self.key}: a probe call is in flight"
            return Admission(
                allowed=False, state=latest.to_state, epoch=latest.epoch, reason=reason
            )
        # Cooldown over (or a probe went silent for a whole cooldown): one probe.
        if latest.to_state == "open":
            epoch = latest.epoch
            why = f"cooldown of {self._cooldown_s:g}s over; letting one probe call through"
        else:
            epoch = latest.epoch + 1
            why = (
                f"probe of epoch {latest.epoch} did not report within {self._cooldown_s:g}s; "
                "letting another probe through"
            )
        if not await self._board.claim_probe(self.key, epoch):
            return Admission(
                allowed=False,
                state="half_open",
                epoch=epoch,
                reason=f"circuit half-open for {self.key}: another caller is probing",
            )
        transition = self._transition(latest.to_state, "half_open", why, epoch)
        await self._board.publish(transition)
        return Admission(
            allowed=True, state="half_open", probe=True, epoch=epoch, transition=transition
        )

    async def record_success(self, admission: Admission) -> BreakerTransition | None:
        """Note a successful call; a successful probe closes the breaker. Settling an
        earlier-started call can complete a run of later failures, which then opens it."""
        if not admission.probe:
            self._settle(admission, ok=True)
            return await self._open_on_run()
        if not self._is_current_probe(admission):
            return None
        self._reset()
        transition = self._transition(
            "half_open", "closed", "probe call succeeded; resuming full traffic", admission.epoch
        )
        await self._board.publish(transition)
        return transition

    async def record_failure(self, admission: Admission, error: str) -> BreakerTransition | None:
        """Note a failed call; opens the breaker at the threshold or when the probe fails."""
        if admission.probe:
            if not self._is_current_probe(admission):
                return None
            self._reset()
            transition = self._transition(
                "half_open",
                "open",
                f"probe call failed: {error}; open for another {self._cooldown_s:g}s",
                admission.epoch + 1,
            )
            await self._board.publish(transition)
            return transition
        self._settle(admission, ok=False)
        self._last_error = error
        return await self._open_on_run()

    async def _open_on_run(self) -> BreakerTransition | None:
        latest = self._board.current(self.key)
        if latest is not None and latest.to_state != "closed":
            return None  # already open: a call admitted before it opened has failed too
        if self.consecutive_failures < self._threshold:
            return None
        self._reset()
        transition = self._transition(
            "closed",
            "open",
            f"{self._threshold} consecutive failures, last: {self._last_error}; "
            f"open for {self._cooldown_s:g}s",
            (latest.epoch if latest else 0) + 1,
        )
        await self._board.publish(transition)
        return transition

    def _is_current_probe(self, admission: Admission) -> bool:
        latest = self._board.current(self.key)
        return (
            latest is not None
            and latest.to_state == "half_open"
            and latest.epoch == admission.epoch
        )

    def _transition(
        self, from_state: BreakerState, to_state: BreakerState, reason: str, epoch: int
    ) -> BreakerTransition:
        return BreakerTransition(
            key=self.key,
            agent=self.agent,
            model=self.model,
            from_state=from_state,
            to_state=to_state,
            reason=reason,
            epoch=epoch,
            at=self._clock(),
        )


class BreakerRegistry:
    """This replica's breakers, one per (agent, model), all on one shared board."""

    def __init__(
        self, board: BreakerBoard | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.board: BreakerBoard = board if board is not None else LocalBreakerBoard()
        self._clock = clock
        self._breakers: dict[tuple[str, int, float], CircuitBreaker] = {}

    def get(self, agent: str, model: str, policy: BreakerPolicy) -> CircuitBreaker:
        """The breaker for `agent` on `model`, created on first use with `policy`."""
        key = breaker_key(agent, model)
        slot = (key, policy.threshold, policy.cooldown_s)
        breaker = self._breakers.get(slot)
        if breaker is None:
            breaker = CircuitBreaker(
                key, self.board, policy.threshold, policy.cooldown_s, self._clock
            )
            self._breakers[slot] = breaker
        return breaker
