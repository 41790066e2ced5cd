"""A hierarchical workflow: an orchestrator runs a DAG of tasks on specialist agents and
merges their typed results."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ConflictRule", "Step", "Workflow"]

ConflictRule = Literal["priority", "first_completed", "last_completed"]
"""How the synthesis picks a value two steps disagree on: ``priority`` takes the step
listed first in ``Workflow.priority`` (else declaration order); ``first_completed`` /
``last_completed`` go by when the steps finished."""


class Step(BaseModel):
    """One task of the DAG: the agent that runs it and the steps whose results it needs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    agent: str
    depends_on: tuple[str, ...] = ()
    instruction: str = ""
    """What this step must do, prefixed to its input."""
    compensation: str | None = None
    """Agent that undoes this step's effect (saga): when the workflow fails after this
    step completed, it gets the step's output, in reverse order of completion."""


class Workflow(BaseModel):
    """A DAG of steps run by the orchestrator role: ready steps run in parallel; every
    state change is a ``WorkflowEvent``, so a restarted orchestrator resumes without
    running a completed step again."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    steps: tuple[Step, ...] = Field(min_length=1)
    description: str = ""
    conflict_rule: ConflictRule = "priority"
    priority: tuple[str, ...] = ()
    """Steps in order of trust for ``priority`` (unlisted steps follow in declaration order)."""
    deadline_s: float | None = Field(default=None, gt=0)
    """Past this, the workflow answers ``partial`` with the synthesis of what completed."""
    examples: tuple[str, ...] = ()
    planner: str | None = None
    """Agent that plans the DAG per request (its output model is `TaskPlan`), using only
    the agents of ``steps``; a plan that is empty or fails the checks is recorded as
    rejected and ``steps`` run as declared."""

    def step(self, name: str) -> Step:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)

    def ranked(self) -> list[str]:
        """Step names in priority order."""
        listed = [name for name in self.priority if any(s.name == name for s in self.steps)]
        return listed + [s.name for s in self.steps if s.name not in listed]
