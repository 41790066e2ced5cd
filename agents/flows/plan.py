"""What a planner agent answers: the task DAG for one request, checked before it runs."""

from __future__ import annotations

from pydantic import BaseModel, Field

from agents.flows.workflow import Step, Workflow

__all__ = ["PlannedTask", "TaskPlan", "check_plan"]

MAX_PLANNED_TASKS = 20


class PlannedTask(BaseModel):
    """One task of a plan: a name, the agent that runs it, the tasks it waits for."""

    name: str = Field(min_length=1, max_length=64)
    agent: str
    depends_on: list[str] = []
    instruction: str = ""


class TaskPlan(BaseModel):
    """A planner agent's output model: the tasks to run for this request, as a DAG."""

    tasks: list[PlannedTask]
    rationale: str = ""


def check_plan(workflow: Workflow, plan: TaskPlan) -> tuple[Step, ...]:
    """The plan as steps; raises ``ValueError`` saying what is wrong (no tasks, an agent
    the workflow does not use, an unknown dependency, a cycle, too many tasks).

    A planned task keeps the compensation of the declared step of the same name, or of
    the same agent: a planner cannot skip a saga's undo.
    """
    if not plan.tasks:
        raise ValueError("the plan has no tasks")
    if len(plan.tasks) > MAX_PLANNED_TASKS:
        raise ValueError(f"the plan has {len(plan.tasks)} tasks, over {MAX_PLANNED_TASKS}")
    allowed = {step.agent for step in workflow.steps}
    names = [task.name for task in plan.tasks]
    if len(set(names)) != len(names):
        raise ValueError("the plan repeats a task name")
    steps = []
    for task in plan.tasks:
        if task.agent not in allowed:
            raise ValueError(
                f"task {task.name!r} uses agent {task.agent!r}, not one of the workflow's "
                f"({', '.join(sorted(allowed))})"
            )
        for dep in task.depends_on:
            if dep not in names:
                raise ValueError(f"task {task.name!r} depends on unknown task {dep!r}")
        declared = next((s for s in workflow.steps if s.name == task.name), None) or next(
            s for s in workflow.steps if s.agent == task.agent
        )
        steps.append(
            Step(
                name=task.name,
                agent=task.agent,
                depends_on=tuple(task.depends_on),
                instruction=task.instruction,
                compensation=declared.compensation,
            )
        )
    pending = {s.name: set(s.depends_on) for s in steps}
    while pending:
        ready = [name for name, deps in pending.items() if not deps]
        if not ready:
            raise ValueError(f"the plan has a dependency cycle among {', '.join(sorted(pending))}")
        for name in ready:
            del pending[name]
        for deps in pending.values():
            deps.difference_update(ready)
    return tuple(steps)
