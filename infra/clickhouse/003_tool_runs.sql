-- Tools (issue 7, part 3): every tool call an attempt ran, on its invocation row.
-- One array of named tuples, in the Avro ToolRun field order, so a query reads the runs
-- of a request with `ARRAY JOIN tool_runs AS run` and `run.name`, `run.error`, ...
-- Added after `decision`, the last column, to keep matching the Avro field order.

ALTER TABLE agentbus.invocations
    ADD COLUMN IF NOT EXISTS tool_runs Array(Tuple(
        name            String,
        arguments       String,
        result          Nullable(String),
        error           Nullable(String),
        latency_ms      Float64,
        idempotency_key Nullable(String),
        call_id         Nullable(String),
        round           Int32
    )) CODEC(ZSTD(3)) AFTER decision;
