"""The stream processors. Each role is its own Faust app and consumer group, so each
scales on its own: ``router`` (star hub), ``specialist:<agent>``, ``sink`` (ClickHouse).

Nothing is imported here: ``streams.roles.registry`` builds Faust apps, and importing
faust has side effects (it rewrites ``FAUST_DATADIR`` from ``sys.argv``) that the
client and the one-shot CLI commands must not inherit through ``streams.roles.runtime``.
"""
