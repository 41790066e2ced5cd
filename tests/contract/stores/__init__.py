"""One contract suite per shared store, run against the in-memory double and the Kafka store."""
