"""A set of agents that work together, with the agent unclassified requests go to."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict, PrivateAttr, model_validator

from agents.contracts.edge import Edge
from agents.endpoints import SIM, ModelEndpoint, SimEndpoint
from agents.errors import ConfigError, UnknownAgent
from agents.flows.check import check_flows
from agents.flows.mesh import Mesh
from agents.flows.pipeline import Pipeline
from agents.flows.workflow import Workflow
from agents.spec import AgentSpec
from agents.tools.mcp import McpServer
from agents.tools.tool import Tool
from agents.tools.toolbox import split_reference

__all__ = ["AgentSystem"]


class AgentSystem(BaseModel):
    """An immutable, internally consistent set of agents.

    Promises, checked at construction (`ConfigError` otherwise): names are unique,
    `default_agent` and every `fallback` name an agent of the system, and following
    fallbacks never loops, every edge joins two distinct agents of the system (at most
    once) and its `into` is a field of the consumer's input model; an edge with a `when`
    names a bool field of the producer's output and can build the consumer's input.
    `agents` keeps declaration order, which the router uses to break ties
    deterministically.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    agents: tuple[AgentSpec, ...]
    default_agent: str
    """General agent for requests no specialist matches."""
    edges: tuple[Edge, ...] = ()
    """Where one agent's output feeds another's input; `agentbus contracts check` checks them,
    and those with a `when` hand a request on to their consumer (see `Edge`)."""
    endpoints: tuple[ModelEndpoint, ...] = ()
    """Model endpoints the agents call, by name (`AgentSpec.provider`); a `sim` endpoint
    with the process's settings exists unless one of that name is declared."""
    tools: tuple[Tool, ...] = ()
    """Python tools the agents may call (`@tool`), by name (`AgentSpec.tools`)."""
    mcp_servers: tuple[McpServer, ...] = ()
    """MCP servers whose tools agents name as `"<server>:<tool>"` or `"<server>:*"`."""
    pipelines: tuple[Pipeline, ...] = ()
    """Agents in a fixed order (a request names the pipeline as its target)."""
    workflows: tuple[Workflow, ...] = ()
    """DAGs of tasks run by the orchestrator role (named as a request's target)."""
    meshes: tuple[Mesh, ...] = ()
    """Agents that consult each other by capability (named as a request's target)."""

    _by_name: Mapping[str, AgentSpec] = PrivateAttr(default_factory=dict)
    _endpoints: Mapping[str, ModelEndpoint] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _index_and_check(self) -> AgentSystem:
        by_name: dict[str, AgentSpec] = {}
        for spec in self.agents:
            if spec.name in by_name:
                raise ConfigError(f"system {self.name!r} defines agent {spec.name!r} twice")
            by_name[spec.name] = spec
        if self.default_agent not in by_name:
            raise ConfigError(
                f"system {self.name!r}: default_agent {self.default_agent!r} is not one of "
                f"its agents ({', '.join(by_name)})",
                agent=self.default_agent,
            )
        for spec in self.agents:
            _check_fallback_chain(self.name, spec, by_name)
        _check_edges(self.name, self.edges, by_name)
        endpoints: dict[str, ModelEndpoint] = {SIM: SimEndpoint()}
        declared: set[str] = set()
        for endpoint in self.endpoints:
            if endpoint.name in declared:
                raise ConfigError(f"system {self.name!r} declares endpoint {endpoint.name!r} twice")
            declared.add(endpoint.name)
            endpoints[endpoint.name] = endpoint
        for spec in self.agents:
            if spec.provider not in endpoints:
                raise ConfigError(
                    f"system {self.name!r}: agent {spec.name!r} calls endpoint {spec.provider!r}, "
                    f"which the system does not declare (declared: {', '.join(endpoints)})",
                    agent=spec.name,
                )
        _check_tools(self)
        check_flows(
            self.name,
            by_name,
            self.pipelines,
            self.workflows,
            self.meshes,
            planners={name: spec.output_model for name, spec in by_name.items()},
        )
        self._endpoints = MappingProxyType(endpoints)
        self._by_name = MappingProxyType(by_name)
        return self

    @property
    def specs(self) -> Mapping[str, AgentSpec]:
        """Read-only view of the agents by name, in declaration order."""
        return self._by_name

    @property
    def names(self) -> tuple[str, ...]:
        """Agent names in declaration order."""
        return tuple(self._by_name)

    @property
    def default(self) -> AgentSpec:
        """The spec of `default_agent`."""
        return self._by_name[self.default_agent]

    def endpoint_of(self, agent: str) -> ModelEndpoint:
        """The endpoint agent `agent` calls."""
        return self._endpoints[self.get(agent).provider]

    @property
    def endpoint_names(self) -> tuple[str, ...]:
        """Every endpoint, the implicit `sim` included."""
        return tuple(self._endpoints)

    def get(self, name: str) -> AgentSpec:
        """The agent called `name`; raises `UnknownAgent` listing the known ones."""
        try:
            return self._by_name[name]
        except KeyError:
            raise UnknownAgent(name, known=self.names, system=self.name) from None

    @property
    def flows(self) -> dict[str, Pipeline | Workflow | Mesh]:
        """Every pipeline, workflow and mesh by name (the orchestrator role runs them)."""
        flows: dict[str, Pipeline | Workflow | Mesh] = {}
        for group in (self.pipelines, self.workflows, self.meshes):
            flows.update((flow.name, flow) for flow in group)
        return flows

    def __contains__(self, name: object) -> bool:
        return name in self._by_name


def _check_tools(system: AgentSystem) -> None:
    """Tool and server names are unique and every agent's tools resolve.

    A system that declares no tools and no MCP servers may still name tools (offered to
    the model by name, their calls answered with an error): systems written before tools
    could run keep working.
    """
    tools: set[str] = set()
    for tool in system.tools:
        if tool.name in tools:
            raise ConfigError(f"system {system.name!r} declares tool {tool.name!r} twice")
        tools.add(tool.name)
    servers: set[str] = set()
    for server in system.mcp_servers:
        if server.name in servers:
            raise ConfigError(f"system {system.name!r} declares MCP server {server.name!r} twice")
        servers.add(server.name)
    strict = bool(tools or servers)
    for spec in system.agents:
        for name in spec.tools:
            owner, _ = split_reference(name)
            if owner is not None and owner not in servers:
                raise ConfigError(
                    f"system {system.name!r}: agent {spec.name!r} uses tool {name!r} of MCP "
                    f"server {owner!r}, which the system does not declare "
                    f"(declared: {', '.join(sorted(servers)) or 'none'})",
                    agent=spec.name,
                )
            if owner is None and strict and name not in tools:
                raise ConfigError(
                    f"system {system.name!r}: agent {spec.name!r} uses tool {name!r}, which the "
                    f"system does not declare (declared: {', '.join(sorted(tools)) or 'none'})",
                    agent=spec.name,
                )


def _check_fallback_chain(system: str, spec: AgentSpec, by_name: Mapping[str, AgentSpec]) -> None:
    seen = [spec.name]
    current = spec
    while current.fallback is not None:
        if current.fallback not in by_name:
            raise ConfigError(
                f"system {system!r}: agent {current.name!r} falls back to unknown agent "
                f"{current.fallback!r}",
                agent=current.name,
            )
        if current.fallback in seen:
            loop = " → ".join([*seen, current.fallback])
            raise ConfigError(f"system {system!r}: fallback loop {loop}", agent=spec.name)
        seen.append(current.fallback)
        current = by_name[current.fallback]


def _check_edges(system: str, edges: tuple[Edge, ...], by_name: Mapping[str, AgentSpec]) -> None:
    seen: set[tuple[str, str, str | None]] = set()
    for edge in edges:
        for role, name in (("producer", edge.producer), ("consumer", edge.consumer)):
            if name not in by_name:
                raise ConfigError(
                    f"system {system!r}: edge {edge.label} names unknown {role} {name!r}",
                    agent=name,
                )
        if edge.producer == edge.consumer:
            raise ConfigError(f"system {system!r}: edge {edge.label} joins an agent to itself")
        key = (edge.producer, edge.consumer, edge.into)
        if key in seen:
            raise ConfigError(f"system {system!r}: edge {edge.label} is declared twice")
        seen.add(key)
        consumer_input = by_name[edge.consumer].input_model
        if edge.into is not None and edge.into not in consumer_input.model_fields:
            raise ConfigError(
                f"system {system!r}: edge {edge.label} feeds {edge.into!r}, which is not a "
                f"field of {consumer_input.__name__} ({', '.join(consumer_input.model_fields)})",
                agent=edge.consumer,
            )
        if edge.runs:
            _check_runnable_edge(system, edge, by_name)


def _check_runnable_edge(system: str, edge: Edge, by_name: Mapping[str, AgentSpec]) -> None:
    """A `when` names a bool field of the producer's output, and the consumer's input can
    be built from the producer's output plus, at most, the request's text."""
    output = by_name[edge.producer].output_model
    if isinstance(edge.when, str):
        field = output.model_fields.get(edge.when)
        if field is None or field.annotation is not bool:
            kind = getattr(field.annotation, "__name__", str(field.annotation)) if field else ""
            found = f"a {kind} field" if field else "not a field"
            raise ConfigError(
                f"system {system!r}: edge {edge.label} runs when {edge.when!r}, which is "
                f"{found} of {output.__name__}; `when` names a bool field of the producer's "
                f"output or is a callable",
                agent=edge.producer,
            )
    if edge.into is None:
        return
    consumer_input = by_name[edge.consumer].input_model
    others = [
        (name, field)
        for name, field in consumer_input.model_fields.items()
        if field.is_required() and name != edge.into
    ]
    if len(others) > 1 or any(field.annotation is not str for _, field in others):
        needs = ", ".join(name for name, _ in others)
        raise ConfigError(
            f"system {system!r}: edge {edge.label} cannot build {consumer_input.__name__}: "
            f"besides {edge.into!r} it requires {needs}, and a running edge fills at most "
            f"one text field (from the request's input)",
            agent=edge.consumer,
        )
