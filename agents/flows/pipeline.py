"""A pipeline: agents in a fixed order, each stage's output the next stage's input."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Overflow", "Pipeline", "Stage"]

Overflow = Literal["block", "drop_oldest", "drop_newest"]
"""What a full stage queue does with one more item: ``block`` holds new requests back
(they wait in Kafka), ``drop_oldest`` drops the item that waited longest, ``drop_newest``
drops the arriving one. A dropped item's request ends with a ``dropped`` result."""


class Stage(BaseModel):
    """One stage: the agent that runs it and the bound on its queue."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agent: str
    name: str | None = None
    """Step name in events and traces; the agent's name when not given."""
    concurrency: int = Field(default=16, ge=1)
    """Items this stage runs at once (tasks dispatched, result not back yet)."""
    queue: int = Field(default=256, ge=0)
    """Items that may wait for a free slot; one more triggers ``overflow``."""
    overflow: Overflow = "block"

    @property
    def step(self) -> str:
        return self.name or self.agent


class Pipeline(BaseModel):
    """Stages in order. Before an output is handed on it is validated against the next
    stage's input model (a violation is a ``contract_violation`` dead letter naming the
    stage and field, and the request fails). Requests reach a pipeline by naming it as
    ``target_agent``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    stages: tuple[Stage, ...] = Field(min_length=1)
    description: str = ""
    deadline_s: float | None = Field(default=None, gt=0)
    """Past this, the request ends ``partial`` with the last stage output reached."""
    examples: tuple[str, ...] = ()
    """Requests a user might send this pipeline (the demo sends them)."""
