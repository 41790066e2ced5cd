"""aiokafka connection options from the settings (security included)."""

from __future__ import annotations

import ssl
from typing import Any

from streams.settings import Settings

__all__ = ["client_options"]


def client_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments shared by every aiokafka client agentbus creates."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = ssl.create_default_context()
    if settings.kafka_sasl_mechanism:
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        if settings.kafka_sasl_password is not None:
            options["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    return options
