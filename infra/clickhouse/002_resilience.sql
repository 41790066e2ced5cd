-- Resilience and cost (issue: production-grade agent invocation).
-- New columns are added AFTER the existing ones so column order keeps matching the
-- Avro field order of the current schemas (the sink inserts by those names).

ALTER TABLE agentbus.invocations
    ADD COLUMN IF NOT EXISTS perturbation Nullable(String) AFTER tool_calls;

ALTER TABLE agentbus.invocations
    ADD COLUMN IF NOT EXISTS decision Nullable(String) AFTER perturbation;

ALTER TABLE agentbus.results
    ADD COLUMN IF NOT EXISTS answered_by Nullable(String) AFTER latency_ms;

CREATE TABLE IF NOT EXISTS agentbus.breaker_events
(
    event_id        String,
    trace_id        String,
    span_id         String,
    parent_span_id  Nullable(String),
    occurred_at     DateTime64(3, 'UTC'),
    producer        LowCardinality(String),
    kind            LowCardinality(String),
    key             String,
    agent           LowCardinality(String),
    model           LowCardinality(String),
    from_state      Nullable(String),
    to_state        Nullable(String),
    epoch           Int64,
    reason          String,
    replica         String,
    request_id      String,
    ingested_at     DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (key, occurred_at, event_id);

CREATE TABLE IF NOT EXISTS agentbus.policies
(
    event_id        String,
    trace_id        String,
    span_id         String,
    parent_span_id  Nullable(String),
    occurred_at     DateTime64(3, 'UTC'),
    producer        LowCardinality(String),
    kind            LowCardinality(String),
    target          String,
    active          Bool,
    params          Map(String, String),
    reason          String,
    ingested_at     DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (target, occurred_at, event_id);
