"""The claims agents' tools: one read-only lookup, one booking with a side effect.

`book_adjuster` books a visit in the scheduling system (here a SQLite table standing in
for it). A task redelivered after a crash calls it again with the same idempotency key;
`once` answers from the ledger and the visit is not booked twice.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from agents import SqliteLedger, ToolContext, once, tool

__all__ = ["book_adjuster", "bookings_db", "lookup_policy"]

_POLICIES = {
    "POL-1001": {"holder": "J. Novak", "cover": "comprehensive", "excess_eur": 250},
    "POL-2002": {"holder": "A. Silva", "cover": "third party", "excess_eur": 500},
}


def bookings_db() -> Path:
    """Where the stand-in scheduling system keeps its bookings (and the ledger its keys)."""
    return Path(os.environ.get("CLAIMS_BOOKINGS_DB", "claims-bookings.db"))


@tool
def lookup_policy(policy_no: str) -> dict[str, object]:
    """The policy's holder, cover and excess."""
    return _POLICIES.get(policy_no.upper(), {"error": f"no policy {policy_no}"})


@tool(side_effects=True, timeout_s=10)
async def book_adjuster(ctx: ToolContext, claim_ref: str, postcode: str) -> str:
    """Book an adjuster's visit for a claim; returns the booking reference."""
    path = bookings_db()
    calls = sqlite3.connect(path)
    with calls:
        calls.execute("CREATE TABLE IF NOT EXISTS calls (key TEXT)")
        calls.execute("INSERT INTO calls VALUES (?)", (ctx.idempotency_key,))
    calls.close()

    async def book() -> str:
        db = sqlite3.connect(path)
        with db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS bookings (key TEXT, claim_ref TEXT, postcode TEXT)"
            )
            db.execute(
                "INSERT INTO bookings VALUES (?, ?, ?)", (ctx.idempotency_key, claim_ref, postcode)
            )
        db.close()
        return f"ADJ-{ctx.idempotency_key[-8:]}"

    return await once(SqliteLedger(path), ctx, book, str)
