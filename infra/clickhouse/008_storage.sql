-- Storage (issue 9, point 7): codecs on every column that had the default (LZ4).
-- Ids are random hex: LZ4 finds nothing to repeat in them, ZSTD's entropy coding keeps
-- about half; timestamps are stored as deltas. Codec-only changes rewrite no data:
-- new parts are written with them and old ones are recompressed as they merge, so this
-- is safe on a store of any size. One kind of action per ALTER (the cluster form,
-- streams/warehouse/cluster.py, routes an ALTER by its first action).
--
-- Sort keys stay as they are: (request_id, event_id) is what `trace` and the per-request
-- joins read, and changing an ORDER BY means rebuilding a table. A bloom filter on
-- trace_id serves the Grafana trace view (otel_traces looks spans up by TraceId).
-- Dashboards filter by time and agent: monthly partitions prune by time; a skip index
-- on agent or a time-ordered projection would not pay (every granule of a table sorted
-- by a random request id holds every agent and the whole time range, and projections
-- are not read under FINAL), so none is added.

ALTER TABLE agentbus.breaker_events
    MODIFY COLUMN event_id CODEC(ZSTD(1)),
    MODIFY COLUMN trace_id CODEC(ZSTD(1)),
    MODIFY COLUMN span_id CODEC(ZSTD(1)),
    MODIFY COLUMN parent_span_id CODEC(ZSTD(1)),
    MODIFY COLUMN occurred_at CODEC(Delta, ZSTD(1)),
    MODIFY COLUMN key CODEC(ZSTD(1)),
    MODIFY COLUMN from_state CODEC(ZSTD(1)),
    MODIFY COLUMN to_state CODEC(ZSTD(1)),
    MODIFY COLUMN epoch CODEC(ZSTD(1)),
    MODIFY COLUMN reason CODEC(ZSTD(1)),
    MODIFY COLUMN replica CODEC(ZSTD(1)),
    MODIFY COLUMN request_id CODEC(ZSTD(1)),
    MODIFY COLUMN ingested_at CODEC(Delta, ZSTD(1));

ALTER TABLE agentbus.capabilities
    MODIFY COLUMN event_id CODEC(ZSTD(1)),
    MODIFY COLUMN trace_id CODEC(ZSTD(1)),
    MODIFY COLUMN span_id CODEC(ZSTD(1)),
    MODIFY COLUMN parent_span_id CODEC(ZSTD(1)),
    MODIFY COLUMN occurred_at CODEC(Delta, ZSTD(1)),
    MODIFY COLUMN version CODEC(ZSTD(1)),
    MODIFY COLUMN description CODEC(ZSTD(1)),
    MODIFY COLUMN ingested_at CODEC(Delta, ZSTD(1));

ALTER TABLE agentbus.dead_letters
    MODIFY COLUMN event_id CODEC(ZSTD(1)),
    MODIFY COLUMN trace_id CODEC(ZSTD(1)),
    MODIFY COLUMN span_id CODEC(ZSTD(1)),
    MODIFY COLUMN parent_span_id CODEC(ZSTD(1)),
    MODIFY COLUMN occurred_at CODEC(Delta, ZSTD(1)),
    MODIFY COLUMN request_id CODEC(ZSTD(1)),
    MODIFY COLUMN reason CODEC(ZSTD(1)),
    MODIFY COLUMN source_offset CODEC(ZSTD(1)),
    MODIFY COLUMN ingested_at CODEC(Delta, ZSTD(1));

ALTER TABLE agentbus.invocations
    MODIFY COLUMN event_id CODEC(ZSTD(1)),
    MODIFY COLUMN occurred_at CODEC(Delta, ZSTD(1)),
    MODIFY COLUMN trace_id CODEC(ZSTD(1)),
    MODIFY COLUMN span_id CODEC(ZSTD(1)),
    MODIFY COLUMN parent_span_id CODEC(ZSTD(1)),
    MODIFY COLUMN request_id CODEC(ZSTD(1)),
    MODIFY COLUMN task_id CODEC(ZSTD(1)),
    MODIFY COLUMN error CODEC(ZSTD(1)),
    MODIFY COLUMN temperature CODEC(ZSTD(1)),
    MODIFY COLUMN input_tokens CODEC(ZSTD(1)),
    MODIFY COLUMN output_tokens CODEC(ZSTD(1)),
    MODIFY COLUMN latency_ms CODEC(ZSTD(1)),
    MODIFY COLUMN cost_usd CODEC(ZSTD(1)),
    MODIFY COLUMN breaker_state CODEC(ZSTD(1)),
    MODIFY COLUMN budget_used CODEC(ZSTD(1)),
    MODIFY COLUMN perturbation CODEC(ZSTD(1)),
    MODIFY COLUMN decision CODEC(ZSTD(1)),
    MODIFY COLUMN ingested_at CODEC(Delta, ZSTD(1));

ALTER TABLE agentbus.policies
    MODIFY COLUMN event_id CODEC(ZSTD(1)),
    MODIFY COLUMN trace_id CODEC(ZSTD(1)),
    MODIFY COLUMN span_id CODEC(ZSTD(1)),
    MODIFY COLUMN parent_span_id CODEC(ZSTD(1)),
    MODIFY COLUMN occurred_at CODEC(Delta, ZSTD(1)),
    MODIFY COLUMN target CODEC(ZSTD(1)),
    MODIFY COLUMN params CODEC(ZSTD(1)),
    MODIFY COLUMN reason CODEC(ZSTD(1)),
    MODIFY COLUMN ingested_at CODEC(Delta, ZSTD(1));

ALTER TABLE agentbus.requests
    MODIFY COLUMN event_id CODEC(ZSTD(1)),
    MODIFY COLUMN trace_id CODEC(ZSTD(1)),
    MODIFY COLUMN span_id CODEC(ZSTD(1)),
    MODIFY COLUMN parent_span_id CODEC(ZSTD(1)),
    MODIFY COLUMN occurred_at CODEC(Delta, ZSTD(1)),
    MODIFY COLUMN request_id CODEC(ZSTD(1)),
    MODIFY COLUMN target_agent CODEC(ZSTD(1)),
    MODIFY COLUMN metadata CODEC(ZSTD(1)),
    MODIFY COLUMN session_id CODEC(ZSTD(1)),
    MODIFY COLUMN ingested_at CODEC(Delta, ZSTD(1));

ALTER TABLE agentbus.results
    MODIFY COLUMN event_id CODEC(ZSTD(1)),
    MODIFY COLUMN trace_id CODEC(ZSTD(1)),
    MODIFY COLUMN span_id CODEC(ZSTD(1)),
    MODIFY COLUMN parent_span_id CODEC(ZSTD(1)),
    MODIFY COLUMN occurred_at CODEC(Delta, ZSTD(1)),
    MODIFY COLUMN request_id CODEC(ZSTD(1)),
    MODIFY COLUMN task_id CODEC(ZSTD(1)),
    MODIFY COLUMN error CODEC(ZSTD(1)),
    MODIFY COLUMN disclaimer CODEC(ZSTD(1)),
    MODIFY COLUMN input_tokens CODEC(ZSTD(1)),
    MODIFY COLUMN output_tokens CODEC(ZSTD(1)),
    MODIFY COLUMN cost_usd CODEC(ZSTD(1)),
    MODIFY COLUMN latency_ms CODEC(ZSTD(1)),
    MODIFY COLUMN answered_by CODEC(ZSTD(1)),
    MODIFY COLUMN chain CODEC(ZSTD(1)),
    MODIFY COLUMN ingested_at CODEC(Delta, ZSTD(1));

ALTER TABLE agentbus.step_results
    MODIFY COLUMN event_id CODEC(ZSTD(1)),
    MODIFY COLUMN trace_id CODEC(ZSTD(1)),
    MODIFY COLUMN span_id CODEC(ZSTD(1)),
    MODIFY COLUMN parent_span_id CODEC(ZSTD(1)),
    MODIFY COLUMN occurred_at CODEC(Delta, ZSTD(1)),
    MODIFY COLUMN request_id CODEC(ZSTD(1)),
    MODIFY COLUMN task_id CODEC(ZSTD(1)),
    MODIFY COLUMN error CODEC(ZSTD(1)),
    MODIFY COLUMN disclaimer CODEC(ZSTD(1)),
    MODIFY COLUMN input_tokens CODEC(ZSTD(1)),
    MODIFY COLUMN output_tokens CODEC(ZSTD(1)),
    MODIFY COLUMN cost_usd CODEC(ZSTD(1)),
    MODIFY COLUMN latency_ms CODEC(ZSTD(1)),
    MODIFY COLUMN answered_by CODEC(ZSTD(1)),
    MODIFY COLUMN chain CODEC(ZSTD(1)),
    MODIFY COLUMN ingested_at CODEC(Delta, ZSTD(1));

ALTER TABLE agentbus.tasks
    MODIFY COLUMN event_id CODEC(ZSTD(1)),
    MODIFY COLUMN trace_id CODEC(ZSTD(1)),
    MODIFY COLUMN span_id CODEC(ZSTD(1)),
    MODIFY COLUMN parent_span_id CODEC(ZSTD(1)),
    MODIFY COLUMN occurred_at CODEC(Delta, ZSTD(1)),
    MODIFY COLUMN request_id CODEC(ZSTD(1)),
    MODIFY COLUMN task_id CODEC(ZSTD(1)),
    MODIFY COLUMN routing_confidence CODEC(ZSTD(1)),
    MODIFY COLUMN metadata CODEC(ZSTD(1)),
    MODIFY COLUMN routing_model_version CODEC(ZSTD(1)),
    MODIFY COLUMN ingested_at CODEC(Delta, ZSTD(1));

ALTER TABLE agentbus.workflow_events
    MODIFY COLUMN event_id CODEC(ZSTD(1)),
    MODIFY COLUMN trace_id CODEC(ZSTD(1)),
    MODIFY COLUMN span_id CODEC(ZSTD(1)),
    MODIFY COLUMN parent_span_id CODEC(ZSTD(1)),
    MODIFY COLUMN occurred_at CODEC(Delta, ZSTD(1)),
    MODIFY COLUMN request_id CODEC(ZSTD(1)),
    MODIFY COLUMN step CODEC(ZSTD(1)),
    MODIFY COLUMN agent CODEC(ZSTD(1)),
    MODIFY COLUMN task_id CODEC(ZSTD(1)),
    MODIFY COLUMN status CODEC(ZSTD(1)),
    MODIFY COLUMN depends_on CODEC(ZSTD(1)),
    MODIFY COLUMN path CODEC(ZSTD(1)),
    MODIFY COLUMN dedup_key CODEC(ZSTD(1)),
    MODIFY COLUMN duration_ms CODEC(ZSTD(1)),
    MODIFY COLUMN deadline_at CODEC(ZSTD(1)),
    MODIFY COLUMN model CODEC(ZSTD(1)),
    MODIFY COLUMN input_tokens CODEC(ZSTD(1)),
    MODIFY COLUMN output_tokens CODEC(ZSTD(1)),
    MODIFY COLUMN cost_usd CODEC(ZSTD(1)),
    MODIFY COLUMN ingested_at CODEC(Delta, ZSTD(1));

ALTER TABLE agentbus.requests
    ADD INDEX IF NOT EXISTS idx_trace trace_id TYPE bloom_filter(0.001) GRANULARITY 1;

ALTER TABLE agentbus.tasks
    ADD INDEX IF NOT EXISTS idx_trace trace_id TYPE bloom_filter(0.001) GRANULARITY 1;

ALTER TABLE agentbus.results
    ADD INDEX IF NOT EXISTS idx_trace trace_id TYPE bloom_filter(0.001) GRANULARITY 1;

ALTER TABLE agentbus.step_results
    ADD INDEX IF NOT EXISTS idx_trace trace_id TYPE bloom_filter(0.001) GRANULARITY 1;

ALTER TABLE agentbus.invocations
    ADD INDEX IF NOT EXISTS idx_trace trace_id TYPE bloom_filter(0.001) GRANULARITY 1;

ALTER TABLE agentbus.workflow_events
    ADD INDEX IF NOT EXISTS idx_trace trace_id TYPE bloom_filter(0.001) GRANULARITY 1;

ALTER TABLE agentbus.dead_letters
    ADD INDEX IF NOT EXISTS idx_trace trace_id TYPE bloom_filter(0.001) GRANULARITY 1;
