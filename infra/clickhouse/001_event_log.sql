-- agentbus event log: one table per event record, columns named as the Avro fields.
-- ReplacingMergeTree on (request_id, event_id): a redelivered event (same event_id)
-- collapses to one row; read with FINAL (or LIMIT 1 BY event_id) for exact counts
-- before background merges run. Order keys start with request_id because `trace`
-- and the per-request joins are the hottest queries; skip indexes serve time ranges.

CREATE DATABASE IF NOT EXISTS agentbus;

CREATE TABLE IF NOT EXISTS agentbus.requests
(
    event_id        String,
    trace_id        String,
    span_id         String,
    parent_span_id  Nullable(String),
    occurred_at     DateTime64(3, 'UTC'),
    producer        LowCardinality(String),
    request_id      String,
    tenant          LowCardinality(String),
    input           String CODEC(ZSTD(3)),
    target_agent    Nullable(String),
    metadata        Map(String, String),
    session_id      Nullable(String),
    ingested_at     DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX idx_time occurred_at TYPE minmax GRANULARITY 4
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (request_id, event_id);

CREATE TABLE IF NOT EXISTS agentbus.tasks
(
    event_id            String,
    trace_id            String,
    span_id             String,
    parent_span_id      Nullable(String),
    occurred_at         DateTime64(3, 'UTC'),
    producer            LowCardinality(String),
    request_id          String,
    task_id             String,
    tenant              LowCardinality(String),
    agent               LowCardinality(String),
    input               String CODEC(ZSTD(3)),
    routing_reason      String CODEC(ZSTD(3)),
    routing_confidence  Float64,
    metadata            Map(String, String),
    ingested_at         DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX idx_time occurred_at TYPE minmax GRANULARITY 4
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (request_id, event_id);

CREATE TABLE IF NOT EXISTS agentbus.results
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
    ingested_at     DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX idx_time occurred_at TYPE minmax GRANULARITY 4
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (request_id, event_id);

CREATE TABLE IF NOT EXISTS agentbus.invocations
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
    agent_version   LowCardinality(String),
    provider        LowCardinality(String),
    model           LowCardinality(String),
    tier            LowCardinality(String),
    attempt         Int32,
    outcome         LowCardinality(String),
    error           Nullable(String),
    input           String CODEC(ZSTD(3)),
    output          Nullable(String) CODEC(ZSTD(3)),
    temperature     Float64,
    input_tokens    Int64,
    output_tokens   Int64,
    latency_ms      Float64,
    cost_usd        Float64,
    cache_hit       Bool,
    breaker_state   Nullable(String),
    budget_used     Nullable(Int64),
    tool_calls      Array(String) CODEC(ZSTD(3)),
    ingested_at     DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX idx_time occurred_at TYPE minmax GRANULARITY 4
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (request_id, event_id);

CREATE TABLE IF NOT EXISTS agentbus.dead_letters
(
    event_id          String,
    trace_id          String,
    span_id           String,
    parent_span_id    Nullable(String),
    occurred_at       DateTime64(3, 'UTC'),
    producer          LowCardinality(String),
    request_id        String,
    reason            String,
    error_type        LowCardinality(String),
    source_topic      LowCardinality(String),
    source_partition  Int32,
    source_offset     Int64,
    raw               String CODEC(ZSTD(3)),
    ingested_at       DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX idx_time occurred_at TYPE minmax GRANULARITY 4
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (request_id, event_id);
