-- Trained routing (issue 8): which model version chose each task's agent.
-- Added AFTER metadata so the column order keeps matching the AgentTask Avro field order
-- (the sink inserts by those names). NULL: no model was consulted (keywords, an
-- explicit target or an override rule decided).

ALTER TABLE agentbus.tasks
    ADD COLUMN IF NOT EXISTS routing_model_version Nullable(String) AFTER metadata;
