"""Stream processors, wire codec, topics, ClickHouse sink and the CLI of agentbus.

``streams`` depends on ``agents``, never the reverse.
"""
