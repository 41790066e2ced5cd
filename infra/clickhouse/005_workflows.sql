-- Topologies (issue 8): workflow state changes, step results and mesh capabilities.
-- workflow_events is the projection of the `workflow` topic (a workflow's state is the
-- fold of its events); step_results holds the AgentResult of every workflow step (the
-- `replies` topic), so `results` keeps exactly one final outcome per request.

CREATE TABLE IF NOT EXISTS agentbus.workflow_events
(
    event_id        String,
    trace_id        String,
    span_id         String,
    parent_span_id  Nullable(String),
    occurred_at     DateTime64(3, 'UTC'),
    producer        LowCardinality(String),
    request_id      String,
    tenant          LowCardinality(String),
    workflow        LowCardinality(String),
    topology        LowCardinality(String),
    kind            LowCardinality(String),
    step            Nullable(String),
    agent           Nullable(String),
    task_id         Nullable(String),
    status          Nullable(String),
    input           Nullable(String) CODEC(ZSTD(3)),
    output          Nullable(String) CODEC(ZSTD(3)),
    detail          String CODEC(ZSTD(3)),
    depends_on      Array(String),
    hop             Int32,
    path            Array(String),
    dedup_key       Nullable(String),
    duration_ms     Float64,
    deadline_at     Nullable(DateTime64(3, 'UTC')),
    model           Nullable(String),
    attempts        Int32,
    input_tokens    Int64,
    output_tokens   Int64,
    cost_usd        Float64,
    ingested_at     DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX idx_time occurred_at TYPE minmax GRANULARITY 4
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (request_id, event_id);

CREATE TABLE IF NOT EXISTS agentbus.step_results
(
    event_id        String,
    trace_id        String,
    span_id         String,
    parent_span_id  Nullable(String),
    occurred_at     DateTime64(3, 'UTC'),
    producer        LowCardinality(String),
    request_id      String,
    task_id         String,
    tenant          LowCardinality(String),
    agent           LowCardinality(String),
    status          LowCardinality(String),
    output          Nullable(String) CODEC(ZSTD(3)),
    error           Nullable(String),
    disclaimer      Nullable(String),
    model           LowCardinality(String),
    attempts        Int32,
    input_tokens    Int64,
    output_tokens   Int64,
    cost_usd        Float64,
    latency_ms      Float64,
    answered_by     Nullable(String),
    ingested_at     DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX idx_time occurred_at TYPE minmax GRANULARITY 4
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (request_id, event_id);

CREATE TABLE IF NOT EXISTS agentbus.capabilities
(
    event_id        String,
    trace_id        String,
    span_id         String,
    parent_span_id  Nullable(String),
    occurred_at     DateTime64(3, 'UTC'),
    producer        LowCardinality(String),
    mesh            LowCardinality(String),
    agent           LowCardinality(String),
    capability      LowCardinality(String),
    version         String,
    description     String,
    active          Bool,
    ingested_at     DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(occurred_at)
ORDER BY (mesh, capability, agent);
