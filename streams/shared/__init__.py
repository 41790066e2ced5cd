"""State every replica shares through Kafka: a topic read whole by each process.

Breaker states, cached results and runtime policies (chaos) are small, keyed and
must be seen by every replica of a role, not by one consumer of a group; each
process folds the topic from the beginning into memory (bounded) and follows it.
"""
