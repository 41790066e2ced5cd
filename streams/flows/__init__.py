"""Pipelines, DAG workflows and meshes on the event log: state as the fold of
``WorkflowEvent``s, decisions as plain functions, run by the orchestrator role."""

from streams.flows.engine import Orchestrator, declared_resolver, topology_of
from streams.flows.state import FlowState, StepState, fold
from streams.flows.writer import Decision

__all__ = [
    "Decision",
    "FlowState",
    "Orchestrator",
    "StepState",
    "declared_resolver",
    "fold",
    "topology_of",
]
