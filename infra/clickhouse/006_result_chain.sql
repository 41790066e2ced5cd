-- Edges that run (issue 8): the agents that handled a request before the one that
-- answered it (support before transactions). Added AFTER answered_by so the column
-- order keeps matching the AgentResult Avro field order (the sink inserts by those
-- names); step_results holds AgentResults too. Empty for a routed task.

ALTER TABLE agentbus.results
    ADD COLUMN IF NOT EXISTS chain Array(String) AFTER answered_by;

ALTER TABLE agentbus.step_results
    ADD COLUMN IF NOT EXISTS chain Array(String) AFTER answered_by;
