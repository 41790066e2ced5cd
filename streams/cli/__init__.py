"""The ``agentbus`` command line. Nothing imports it; it sits on top of everything."""
