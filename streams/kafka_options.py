"""Kafka connection options from the settings (security included), for every client.

aiokafka clients (admin, producers, the shared-state views, the CLI) take
:func:`client_options`; Faust apps take :func:`faust_credentials`. Both read the
same settings, so a SASL_SSL cluster works on every path or on none.
"""

from __future__ import annotations

import ssl
from typing import Any

from streams.settings import Settings

__all__ = ["client_options", "faust_credentials", "ssl_context"]


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context for SSL and SASL_SSL: system CAs, or the configured CA file and
    client certificate; None for plaintext protocols."""
    if settings.kafka_security_protocol not in ("SSL", "SASL_SSL"):
        return None
    cafile = str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
    context = ssl.create_default_context(cafile=cafile)
    if settings.kafka_ssl_certfile is not None:
        password = (
            settings.kafka_ssl_key_password.get_secret_value()
            if settings.kafka_ssl_key_password
            else None
        )
        keyfile = str(settings.kafka_ssl_keyfile) if settings.kafka_ssl_keyfile else None
        context.load_cert_chain(str(settings.kafka_ssl_certfile), keyfile, password)
    return context


def client_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments shared by every aiokafka client agentbus creates."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "security_protocol": settings.kafka_security_protocol,
    }
    context = ssl_context(settings)
    if context is not None:
        options["ssl_context"] = context
    if settings.kafka_sasl_mechanism:
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        if settings.kafka_sasl_password is not None:
            options["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    return options


def faust_credentials(settings: Settings) -> Any:
    """``broker_credentials`` for a Faust app, or None for PLAINTEXT."""
    # Imported here: importing faust rewrites the environment from sys.argv, and the
    # aiokafka-only paths (the client, the CLI's one-shot commands) must not pay for it.
    import faust  # noqa: PLC0415

    if settings.kafka_security_protocol == "PLAINTEXT":
        return None
    context = ssl_context(settings)
    if settings.kafka_sasl_mechanism and settings.kafka_sasl_username:
        password = (
            settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else ""
        )
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=password,
            mechanism=settings.kafka_sasl_mechanism,
            ssl_context=context,
        )
    return faust.SSLCredentials(context)
