"""Token budgets: a cap on the tokens an agent may spend, shared by concurrent calls.

A call first reserves what it could spend at most (its input plus its output cap),
is given what is left if that is less, runs with its output capped to the grant, and
then settles what it really spent, releasing the rest. Reservations are made under a
lock, so they never add up to more than the limit: N concurrent calls cannot
overspend together.

`reserve` answers at once from what is left now. `acquire` (what the invocation path
uses) first waits, while other calls hold reservations, for them to settle: calls
usually spend far less than their worst case, so a burst of calls gets full grants
as the budget frees up instead of being cut short by tokens that are merely held.
It caps or refuses only once nothing is held and the rest still does not suffice.

The guarantee assumes a provider bills at most the input tokens that were estimated
for the reservation; when one bills more, the excess is counted in `overrun` and
taken from what is left, so later reservations shrink to make up for it.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from dataclasses import dataclass

from agents.errors import AgentError, ConfigError

__all__ = ["Reservation", "TokenBudget"]

_ids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Reservation:
    """Tokens set aside for one call; `granted` is 0 when the budget refused it."""

    id: int
    requested: int
    granted: int

    @property
    def refused(self) -> bool:
        """True when nothing was granted, so the call must not be made."""
        return self.granted == 0

    @property
    def capped(self) -> bool:
        """True when less than requested was granted."""
        return self.granted < self.requested


class TokenBudget:
    """At most `limit_tokens` tokens (input + output) over every call charged to it.

    Safe to share between asyncio tasks and threads; `acquire` waits on the loop it
    is called from.
    """

    def __init__(self, limit_tokens: int) -> None:
        if limit_tokens <= 0:
            raise ConfigError(f"a token budget needs limit_tokens > 0, got {limit_tokens}")
        self._limit = limit_tokens
        self._used = 0
        self._held = 0
        self._overrun = 0
        self._open: dict[int, int] = {}
        self._lock = threading.Lock()
        self._waiters: list[asyncio.Future[None]] = []

    @property
    def limit(self) -> int:
        """The most tokens all calls together may spend."""
        return self._limit

    @property
    def used(self) -> int:
        """Tokens spent by settled calls."""
        return self._used

    @property
    def held(self) -> int:
        """Tokens reserved by calls still running."""
        return self._held

    @property
    def remaining(self) -> int:
        """Tokens neither spent nor reserved."""
        return max(0, self._limit - self._used - self._held)

    @property
    def overrun(self) -> int:
        """Tokens settled beyond their reservation (a provider billed more than estimated)."""
        return self._overrun

    def reserve(self, estimated: int, *, minimum: int = 1) -> Reservation:
        """Set aside up to `estimated` tokens now; grants what is left if less.

        A grant smaller than `minimum` (too little for a useful call) is refused:
        nothing is held and `Reservation.refused` is True.
        """
        _check(estimated, minimum)
        with self._lock:
            return self._grant(estimated, minimum)

    async def acquire(self, estimated: int, *, minimum: int = 1) -> Reservation:
        """Like `reserve`, but while the full `estimated` is not left and other calls
        hold reservations, wait for them to settle first."""
        _check(estimated, minimum)
        while True:
            with self._lock:
                if self.remaining >= estimated or self._held == 0:
                    return self._grant(estimated, minimum)
                waiter = asyncio.get_running_loop().create_future()
                self._waiters.append(waiter)
            await waiter

    def settle(self, reservation: Reservation, actual: int) -> None:
        """Release `reservation` and charge the `actual` tokens the call spent.

        Settling a refused reservation is allowed (and charges `actual`, normally 0).
        """
        if actual < 0:
            raise ConfigError(f"actual tokens must be >= 0, got {actual}")
        with self._lock:
            if reservation.refused:
                self._used += actual
                self._overrun += actual
                return
            granted = self._open.pop(reservation.id, None)
            if granted is None:
                raise AgentError(f"reservation {reservation.id} was settled twice or never made")
            self._held -= granted
            self._used += actual
            self._overrun += max(0, actual - granted)
            waiters, self._waiters = self._waiters, []
        for waiter in waiters:  # each re-checks what is left, in arrival order
            waiter.get_loop().call_soon_threadsafe(_wake, waiter)

    def _grant(self, estimated: int, minimum: int) -> Reservation:
        grant = min(estimated, self.remaining)
        if grant < min(minimum, estimated):
            grant = 0
        reservation = Reservation(id=next(_ids), requested=estimated, granted=grant)
        if grant:
            self._open[reservation.id] = grant
            self._held += grant
        return reservation

    def __repr__(self) -> str:
        return (
            f"TokenBudget(limit={self._limit}, used={self._used}, held={self._held}, "
            f"remaining={self.remaining})"
        )


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():  # a cancelled waiter is done already
        waiter.set_result(None)


def _check(estimated: int, minimum: int) -> None:
    if estimated <= 0 or minimum <= 0:
        raise ConfigError(f"reserve needs estimated and minimum > 0, got {estimated} and {minimum}")
