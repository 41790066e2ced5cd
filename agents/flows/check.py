"""Consistency checks of a system's pipelines, workflows and meshes (``ConfigError``)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from pydantic import BaseModel

from agents.errors import ConfigError
from agents.flows.mesh import Mesh
from agents.flows.pipeline import Pipeline
from agents.flows.plan import TaskPlan
from agents.flows.workflow import Workflow

__all__ = ["check_flows"]


def check_flows(
    system: str,
    agents: Collection[str],
    pipelines: Iterable[Pipeline],
    workflows: Iterable[Workflow],
    meshes: Iterable[Mesh],
    planners: Mapping[str, type[BaseModel]] | None = None,
) -> None:
    """Flow names are unique and distinct from agent names (a request names either as
    its target); every agent a flow uses exists; a workflow's steps form a DAG; a
    planner answers a `TaskPlan` (``planners``: output model per agent)."""
    names: set[str] = set()

    def claim(kind: str, name: str) -> None:
        if name in agents:
            raise ConfigError(f"system {system!r}: {kind} {name!r} has the name of an agent")
        if name in names:
            raise ConfigError(f"system {system!r} declares the flow name {name!r} twice")
        names.add(name)

    def known(kind: str, flow: str, agent: str) -> None:
        if agent not in agents:
            raise ConfigError(
                f"system {system!r}: {kind} {flow!r} uses unknown agent {agent!r}", agent=agent
            )

    for pipeline in pipelines:
        claim("pipeline", pipeline.name)
        steps = [stage.step for stage in pipeline.stages]
        if len(set(steps)) != len(steps):
            raise ConfigError(f"system {system!r}: pipeline {pipeline.name!r} repeats a stage name")
        for stage in pipeline.stages:
            known("pipeline", pipeline.name, stage.agent)
    for workflow in workflows:
        claim("workflow", workflow.name)
        _check_dag(system, workflow)
        if workflow.planner is not None:
            known("workflow", workflow.name, workflow.planner)
            if planners is not None and not issubclass(planners[workflow.planner], TaskPlan):
                raise ConfigError(
                    f"system {system!r}: workflow {workflow.name!r} is planned by "
                    f"{workflow.planner!r}, whose output model is not TaskPlan",
                    agent=workflow.planner,
                )
        for step in workflow.steps:
            known("workflow", workflow.name, step.agent)
            if step.compensation is not None:
                known("workflow", workflow.name, step.compensation)
    for mesh in meshes:
        claim("mesh", mesh.name)
        for member in mesh.members:
            known("mesh", mesh.name, member.agent)
        if not mesh.providers_of(mesh.entry):
            raise ConfigError(
                f"system {system!r}: mesh {mesh.name!r} enters at capability {mesh.entry!r}, "
                "which no member offers"
            )


def _check_dag(system: str, workflow: Workflow) -> None:
    declared = [step.name for step in workflow.steps]
    if len(set(declared)) != len(declared):
        raise ConfigError(f"system {system!r}: workflow {workflow.name!r} repeats a step name")
    for step in workflow.steps:
        for dep in step.depends_on:
            if dep not in declared:
                raise ConfigError(
                    f"system {system!r}: workflow {workflow.name!r}: step {step.name!r} "
                    f"depends on unknown step {dep!r}"
                )
    # Kahn's algorithm: whatever cannot be ordered sits on a cycle.
    pending = {step.name: set(step.depends_on) for step in workflow.steps}
    while pending:
        ready = [name for name, deps in pending.items() if not deps]
        if not ready:
            cycle = ", ".join(sorted(pending))
            raise ConfigError(
                f"system {system!r}: workflow {workflow.name!r} has a dependency "
                f"cycle among {cycle}"
            )
        for name in ready:
            del pending[name]
        for deps in pending.values():
            deps.difference_update(ready)
