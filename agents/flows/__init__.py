"""Topologies beyond the star, as a system declares them: pipelines, DAG workflows, meshes.

Definitions only (no Kafka): `streams.flows` runs them on the event log.
"""

from agents.flows.handoff import handoff
from agents.flows.mesh import Mesh, MeshMember
from agents.flows.pipeline import Overflow, Pipeline, Stage
from agents.flows.plan import PlannedTask, TaskPlan, check_plan
from agents.flows.workflow import ConflictRule, Step, Workflow

__all__ = [
    "ConflictRule",
    "Mesh",
    "MeshMember",
    "Overflow",
    "Pipeline",
    "PlannedTask",
    "Stage",
    "Step",
    "TaskPlan",
    "Workflow",
    "check_plan",
    "handoff",
]
