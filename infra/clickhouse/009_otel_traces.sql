-- Traces where users already look (issue 9, point 6): every span-shaped event as a row
-- in the OpenTelemetry ClickHouse exporter's `otel_traces` shape (Timestamp, TraceId,
-- SpanId, ParentSpanId, ..., Duration in nanoseconds, Events.*, Links.*), so the Grafana
-- ClickHouse plugin's trace view (data source `traces` settings: otelEnabled, database
-- agentbus, table otel_traces) shows a request's spans.
--
-- The tree: a request (root, kind Server) → its tasks (Consumer) → each model attempt
-- (Client, with the GenAI attributes gen_ai.system, gen_ai.request.model,
-- gen_ai.usage.input_tokens/output_tokens and the cost) and the task's result
-- (Internal, spanning the task's latency); workflow events and dead letters hang under
-- the event that caused them. A span's end is the event's time; spans with a known
-- duration start that much earlier. Requests and tasks are instants (Duration 0): their
-- length is what their children span. Read it without FINAL, as the plugin does: a
-- redelivered event not yet merged shows twice with the same SpanId.
--
-- A view, not a copy: it costs no storage. TraceId lookups use the idx_trace bloom
-- filters (008_storage.sql). CREATE OR REPLACE so a later change of this file applies.

CREATE OR REPLACE VIEW agentbus.otel_traces AS
SELECT
    toDateTime64(occurred_at, 9) AS Timestamp,
    trace_id AS TraceId,
    span_id AS SpanId,
    ifNull(parent_span_id, '') AS ParentSpanId,
    '' AS TraceState,
    CAST('request', 'LowCardinality(String)') AS SpanName,
    CAST('Server', 'LowCardinality(String)') AS SpanKind,
    CAST(toString(producer), 'LowCardinality(String)') AS ServiceName,
    CAST(map('service.name', toString(producer), 'service.namespace', 'agentbus'), 'Map(LowCardinality(String), String)')
        AS ResourceAttributes,
    'agentbus' AS ScopeName,
    '' AS ScopeVersion,
    CAST(map(
        'agentbus.table', 'requests',
        'agentbus.event_id', event_id,
        'agentbus.request_id', request_id,
        'agentbus.tenant', toString(tenant),
        'agentbus.target_agent', ifNull(target_agent, ''),
        'agentbus.session_id', ifNull(session_id, '')
    ), 'Map(LowCardinality(String), String)') AS SpanAttributes,
    toUInt64(greatest(0, 0) * 1000000) AS Duration,
    CAST('Unset', 'LowCardinality(String)') AS StatusCode,
    '' AS StatusMessage,
    CAST([], 'Array(DateTime64(9))') AS `Events.Timestamp`,
    CAST([], 'Array(LowCardinality(String))') AS `Events.Name`,
    CAST([], 'Array(Map(LowCardinality(String), String))') AS `Events.Attributes`,
    CAST([], 'Array(String)') AS `Links.TraceId`,
    CAST([], 'Array(String)') AS `Links.SpanId`,
    CAST([], 'Array(String)') AS `Links.TraceState`,
    CAST([], 'Array(Map(LowCardinality(String), String))') AS `Links.Attributes`
FROM agentbus.requests
UNION ALL
SELECT
    toDateTime64(occurred_at, 9) AS Timestamp,
    trace_id AS TraceId,
    span_id AS SpanId,
    ifNull(parent_span_id, '') AS ParentSpanId,
    '' AS TraceState,
    CAST(concat('task ', toString(agent)), 'LowCardinality(String)') AS SpanName,
    CAST('Consumer', 'LowCardinality(String)') AS SpanKind,
    CAST(toString(producer), 'LowCardinality(String)') AS ServiceName,
    CAST(map('service.name', toString(producer), 'service.namespace', 'agentbus'), 'Map(LowCardinality(String), String)')
        AS ResourceAttributes,
    'agentbus' AS ScopeName,
    '' AS ScopeVersion,
    CAST(map(
        'agentbus.table', 'tasks',
        'agentbus.event_id', event_id,
        'agentbus.request_id', request_id,
        'agentbus.task_id', task_id,
        'agentbus.tenant', toString(tenant),
        'agentbus.agent', toString(agent),
        'agentbus.routing.reason', routing_reason,
        'agentbus.routing.confidence', toString(routing_confidence),
        'agentbus.routing.model_version', ifNull(routing_model_version, '')
    ), 'Map(LowCardinality(String), String)') AS SpanAttributes,
    toUInt64(greatest(0, 0) * 1000000) AS Duration,
    CAST('Unset', 'LowCardinality(String)') AS StatusCode,
    '' AS StatusMessage,
    CAST([], 'Array(DateTime64(9))') AS `Events.Timestamp`,
    CAST([], 'Array(LowCardinality(String))') AS `Events.Name`,
    CAST([], 'Array(Map(LowCardinality(String), String))') AS `Events.Attributes`,
    CAST([], 'Array(String)') AS `Links.TraceId`,
    CAST([], 'Array(String)') AS `Links.SpanId`,
    CAST([], 'Array(String)') AS `Links.TraceState`,
    CAST([], 'Array(Map(LowCardinality(String), String))') AS `Links.Attributes`
FROM agentbus.tasks
UNION ALL
SELECT
    toDateTime64(occurred_at - toIntervalMillisecond(toInt64(latency_ms)), 9) AS Timestamp,
    trace_id AS TraceId,
    span_id AS SpanId,
    ifNull(parent_span_id, '') AS ParentSpanId,
    '' AS TraceState,
    CAST(concat('chat ', toString(model)), 'LowCardinality(String)') AS SpanName,
    CAST('Client', 'LowCardinality(String)') AS SpanKind,
    CAST(toString(producer), 'LowCardinality(String)') AS ServiceName,
    CAST(map('service.name', toString(producer), 'service.namespace', 'agentbus'), 'Map(LowCardinality(String), String)')
        AS ResourceAttributes,
    'agentbus' AS ScopeName,
    '' AS ScopeVersion,
    CAST(map(
        'agentbus.table', 'invocations',
        'agentbus.event_id', event_id,
        'gen_ai.operation.name', 'chat',
        'gen_ai.system', toString(provider),
        'gen_ai.request.model', toString(model),
        'gen_ai.response.model', toString(model),
        'gen_ai.request.temperature', toString(temperature),
        'gen_ai.usage.input_tokens', toString(input_tokens),
        'gen_ai.usage.output_tokens', toString(output_tokens),
        'gen_ai.usage.cost_usd', toString(cost_usd),
        'gen_ai.agent.name', toString(agent),
        'agentbus.request_id', request_id,
        'agentbus.task_id', task_id,
        'agentbus.tenant', toString(tenant),
        'agentbus.tier', toString(tier),
        'agentbus.attempt', toString(attempt),
        'agentbus.outcome', toString(outcome),
        'agentbus.cache_hit', toString(cache_hit),
        'agentbus.breaker_state', ifNull(breaker_state, ''),
        'agentbus.perturbation', ifNull(perturbation, ''),
        'agentbus.decision', ifNull(decision, '')
    ), 'Map(LowCardinality(String), String)') AS SpanAttributes,
    toUInt64(greatest(latency_ms, 0) * 1000000) AS Duration,
    CAST(if(outcome IN ('ok', 'cached', 'partial'), 'Ok', 'Error'), 'LowCardinality(String)') AS StatusCode,
    ifNull(error, '') AS StatusMessage,
    CAST([], 'Array(DateTime64(9))') AS `Events.Timestamp`,
    CAST([], 'Array(LowCardinality(String))') AS `Events.Name`,
    CAST([], 'Array(Map(LowCardinality(String), String))') AS `Events.Attributes`,
    CAST([], 'Array(String)') AS `Links.TraceId`,
    CAST([], 'Array(String)') AS `Links.SpanId`,
    CAST([], 'Array(String)') AS `Links.TraceState`,
    CAST([], 'Array(Map(LowCardinality(String), String))') AS `Links.Attributes`
FROM agentbus.invocations
UNION ALL
SELECT
    toDateTime64(occurred_at - toIntervalMillisecond(toInt64(latency_ms)), 9) AS Timestamp,
    trace_id AS TraceId,
    span_id AS SpanId,
    ifNull(parent_span_id, '') AS ParentSpanId,
    '' AS TraceState,
    CAST(concat('result ', toString(agent)), 'LowCardinality(String)') AS SpanName,
    CAST('Internal', 'LowCardinality(String)') AS SpanKind,
    CAST(toString(producer), 'LowCardinality(String)') AS ServiceName,
    CAST(map('service.name', toString(producer), 'service.namespace', 'agentbus'), 'Map(LowCardinality(String), String)')
        AS ResourceAttributes,
    'agentbus' AS ScopeName,
    '' AS ScopeVersion,
    CAST(map(
        'agentbus.table', 'results',
        'agentbus.event_id', event_id,
        'agentbus.request_id', request_id,
        'agentbus.task_id', task_id,
        'agentbus.tenant', toString(tenant),
        'agentbus.agent', toString(agent),
        'agentbus.status', toString(status),
        'gen_ai.request.model', toString(model),
        'gen_ai.usage.input_tokens', toString(input_tokens),
        'gen_ai.usage.output_tokens', toString(output_tokens),
        'gen_ai.usage.cost_usd', toString(cost_usd),
        'agentbus.attempts', toString(attempts),
        'agentbus.answered_by', ifNull(answered_by, ''),
        'agentbus.chain', arrayStringConcat(chain, ',')
    ), 'Map(LowCardinality(String), String)') AS SpanAttributes,
    toUInt64(greatest(latency_ms, 0) * 1000000) AS Duration,
    CAST(multiIf(status = 'ok', 'Ok', status = 'failed', 'Error', 'Unset'), 'LowCardinality(String)') AS StatusCode,
    ifNull(error, '') AS StatusMessage,
    CAST([], 'Array(DateTime64(9))') AS `Events.Timestamp`,
    CAST([], 'Array(LowCardinality(String))') AS `Events.Name`,
    CAST([], 'Array(Map(LowCardinality(String), String))') AS `Events.Attributes`,
    CAST([], 'Array(String)') AS `Links.TraceId`,
    CAST([], 'Array(String)') AS `Links.SpanId`,
    CAST([], 'Array(String)') AS `Links.TraceState`,
    CAST([], 'Array(Map(LowCardinality(String), String))') AS `Links.Attributes`
FROM agentbus.results
UNION ALL
SELECT
    toDateTime64(occurred_at - toIntervalMillisecond(toInt64(latency_ms)), 9) AS Timestamp,
    trace_id AS TraceId,
    span_id AS SpanId,
    ifNull(parent_span_id, '') AS ParentSpanId,
    '' AS TraceState,
    CAST(concat('step result ', toString(agent)), 'LowCardinality(String)') AS SpanName,
    CAST('Internal', 'LowCardinality(String)') AS SpanKind,
    CAST(toString(producer), 'LowCardinality(String)') AS ServiceName,
    CAST(map('service.name', toString(producer), 'service.namespace', 'agentbus'), 'Map(LowCardinality(String), String)')
        AS ResourceAttributes,
    'agentbus' AS ScopeName,
    '' AS ScopeVersion,
    CAST(map(
        'agentbus.table', 'step_results',
        'agentbus.event_id', event_id,
        'agentbus.request_id', request_id,
        'agentbus.task_id', task_id,
        'agentbus.tenant', toString(tenant),
        'agentbus.agent', toString(agent),
        'agentbus.status', toString(status),
        'gen_ai.request.model', toString(model),
        'gen_ai.usage.input_tokens', toString(input_tokens),
        'gen_ai.usage.output_tokens', toString(output_tokens),
        'gen_ai.usage.cost_usd', toString(cost_usd),
        'agentbus.attempts', toString(attempts),
        'agentbus.answered_by', ifNull(answered_by, ''),
        'agentbus.chain', arrayStringConcat(chain, ',')
    ), 'Map(LowCardinality(String), String)') AS SpanAttributes,
    toUInt64(greatest(latency_ms, 0) * 1000000) AS Duration,
    CAST(multiIf(status = 'ok', 'Ok', status = 'failed', 'Error', 'Unset'), 'LowCardinality(String)') AS StatusCode,
    ifNull(error, '') AS StatusMessage,
    CAST([], 'Array(DateTime64(9))') AS `Events.Timestamp`,
    CAST([], 'Array(LowCardinality(String))') AS `Events.Name`,
    CAST([], 'Array(Map(LowCardinality(String), String))') AS `Events.Attributes`,
    CAST([], 'Array(String)') AS `Links.TraceId`,
    CAST([], 'Array(String)') AS `Links.SpanId`,
    CAST([], 'Array(String)') AS `Links.TraceState`,
    CAST([], 'Array(Map(LowCardinality(String), String))') AS `Links.Attributes`
FROM agentbus.step_results
UNION ALL
SELECT
    toDateTime64(occurred_at - toIntervalMillisecond(toInt64(duration_ms)), 9) AS Timestamp,
    trace_id AS TraceId,
    span_id AS SpanId,
    ifNull(parent_span_id, '') AS ParentSpanId,
    '' AS TraceState,
    CAST(concat(toString(topology), ' ', toString(kind)), 'LowCardinality(String)') AS SpanName,
    CAST('Internal', 'LowCardinality(String)') AS SpanKind,
    CAST(toString(producer), 'LowCardinality(String)') AS ServiceName,
    CAST(map('service.name', toString(producer), 'service.namespace', 'agentbus'), 'Map(LowCardinality(String), String)')
        AS ResourceAttributes,
    'agentbus' AS ScopeName,
    '' AS ScopeVersion,
    CAST(map(
        'agentbus.table', 'workflow_events',
        'agentbus.event_id', event_id,
        'agentbus.request_id', request_id,
        'agentbus.workflow', toString(workflow),
        'agentbus.topology', toString(topology),
        'agentbus.kind', toString(kind),
        'agentbus.step', ifNull(step, ''),
        'agentbus.agent', ifNull(agent, ''),
        'agentbus.status', ifNull(status, ''),
        'agentbus.hop', toString(hop),
        'agentbus.detail', detail,
        'gen_ai.usage.input_tokens', toString(input_tokens),
        'gen_ai.usage.output_tokens', toString(output_tokens),
        'gen_ai.usage.cost_usd', toString(cost_usd)
    ), 'Map(LowCardinality(String), String)') AS SpanAttributes,
    toUInt64(greatest(duration_ms, 0) * 1000000) AS Duration,
    CAST(if(ifNull(status, '') IN ('failed', 'error', 'timed_out'), 'Error', 'Unset'), 'LowCardinality(String)') AS StatusCode,
    '' AS StatusMessage,
    CAST([], 'Array(DateTime64(9))') AS `Events.Timestamp`,
    CAST([], 'Array(LowCardinality(String))') AS `Events.Name`,
    CAST([], 'Array(Map(LowCardinality(String), String))') AS `Events.Attributes`,
    CAST([], 'Array(String)') AS `Links.TraceId`,
    CAST([], 'Array(String)') AS `Links.SpanId`,
    CAST([], 'Array(String)') AS `Links.TraceState`,
    CAST([], 'Array(Map(LowCardinality(String), String))') AS `Links.Attributes`
FROM agentbus.workflow_events
UNION ALL
SELECT
    toDateTime64(occurred_at, 9) AS Timestamp,
    trace_id AS TraceId,
    span_id AS SpanId,
    ifNull(parent_span_id, '') AS ParentSpanId,
    '' AS TraceState,
    CAST(concat('dead letter ', toString(error_type)), 'LowCardinality(String)') AS SpanName,
    CAST('Internal', 'LowCardinality(String)') AS SpanKind,
    CAST(toString(producer), 'LowCardinality(String)') AS ServiceName,
    CAST(map('service.name', toString(producer), 'service.namespace', 'agentbus'), 'Map(LowCardinality(String), String)')
        AS ResourceAttributes,
    'agentbus' AS ScopeName,
    '' AS ScopeVersion,
    CAST(map(
        'agentbus.table', 'dead_letters',
        'agentbus.event_id', event_id,
        'agentbus.request_id', request_id,
        'agentbus.error_type', toString(error_type),
        'agentbus.source_topic', toString(source_topic),
        'agentbus.source_partition', toString(source_partition),
        'agentbus.source_offset', toString(source_offset)
    ), 'Map(LowCardinality(String), String)') AS SpanAttributes,
    toUInt64(greatest(0, 0) * 1000000) AS Duration,
    CAST('Error', 'LowCardinality(String)') AS StatusCode,
    reason AS StatusMessage,
    CAST([], 'Array(DateTime64(9))') AS `Events.Timestamp`,
    CAST([], 'Array(LowCardinality(String))') AS `Events.Name`,
    CAST([], 'Array(Map(LowCardinality(String), String))') AS `Events.Attributes`,
    CAST([], 'Array(String)') AS `Links.TraceId`,
    CAST([], 'Array(String)') AS `Links.SpanId`,
    CAST([], 'Array(String)') AS `Links.TraceState`,
    CAST([], 'Array(Map(LowCardinality(String), String))') AS `Links.Attributes`
FROM agentbus.dead_letters;
