"""The stream processors. Each role is its own Faust app and consumer group, so each
scales on its own: ``router`` (star hub), ``specialist:<agent>``, ``sink`` (ClickHouse)."""

from streams.roles.registry import ROLE_HELP, all_roles, build_app

__all__ = ["ROLE_HELP", "all_roles", "build_app"]
