"""Short-lived aiokafka admin connections and the "does the cluster answer" probe.

Every function takes the bootstrap address plus ``options``: the security keyword
arguments of an aiokafka client (``security_protocol``, ``ssl_context``,
``sasl_*``), as :func:`streams.kafka_options.client_options` builds them. A
``bootstrap_servers`` among them is ignored: the explicit address wins.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.conn import create_conn
from aiokafka.errors import (
    AuthenticationFailedError,
    AuthenticationMethodNotSupported,
    IllegalSaslStateError,
    KafkaError,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
)

from streams.broker.errors import BrokerAuthError

CLIENT_ID = "agentbus-broker-admin"

ClientOptions = Mapping[str, Any]
"""Security options of an aiokafka client (see the module docstring)."""

_SECURITY_KEYS = (
    "security_protocol",
    "ssl_context",
    "sasl_mechanism",
    "sasl_plain_username",
    "sasl_plain_password",
    "sasl_kerberos_service_name",
    "sasl_kerberos_domain_name",
    "sasl_oauth_token_provider",
)
# Refusals that no retry can fix: the credentials or the TLS setup are wrong.
_AUTH_ERRORS = (
    AuthenticationFailedError,
    AuthenticationMethodNotSupported,
    IllegalSaslStateError,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
)


def security(options: ClientOptions | None) -> dict[str, Any]:
    """The security part of ``options`` (everything else is the caller's to choose)."""
    return {key: value for key, value in (options or {}).items() if key in _SECURITY_KEYS}


def split_bootstrap(bootstrap: str) -> tuple[str, int]:
    """Split the first ``host:port`` of a bootstrap string (``[v6]:port`` allowed)."""
    first = bootstrap.split(",", maxsplit=1)[0].strip()
    host, sep, port = first.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"bootstrap address must be host:port, got {bootstrap!r}")
    return host.strip("[]"), int(port)


@asynccontextmanager
async def open_admin(
    bootstrap: str, request_timeout: float, *, options: ClientOptions | None = None
) -> AsyncIterator[Any]:
    """Yield a started admin client; it is closed on exit whatever happens."""
    admin = AIOKafkaAdminClient(
        **security(options),
        bootstrap_servers=bootstrap,
        client_id=CLIENT_ID,
        request_timeout_ms=max(1000, int(request_timeout * 1000)),
    )
    try:
        await admin.start()
        yield admin
    finally:
        await admin.close()


async def cluster_answers(
    bootstrap: str, request_timeout: float, *, options: ClientOptions | None = None
) -> bool:
    """Whether a broker at ``bootstrap`` answers a metadata request within ``request_timeout`` s.

    Connection failures and timeouts mean "not yet" and give ``False``. A broker that
    answers but refuses the credentials or the TLS handshake raises
    :class:`BrokerAuthError`: waiting longer would not help, and "no broker answers"
    would send the operator looking in the wrong place.

    The bare TCP check comes first because aiokafka logs an error for every refused
    bootstrap; the probe connection next, because the admin client's bootstrap
    reduces every cause to "Unable to bootstrap".
    """
    host, port = split_bootstrap(bootstrap)
    try:
        async with asyncio.timeout(request_timeout):
            _, writer = await asyncio.open_connection(host, port)
            writer.close()
            await writer.wait_closed()
            await _probe(host, port, request_timeout, options)
            async with open_admin(bootstrap, request_timeout, options=options) as admin:
                cluster = await admin.describe_cluster()
    except (OSError, TimeoutError, KafkaError):
        return False
    return bool(cluster.get("brokers"))


async def _probe(host: str, port: int, wait_s: float, options: ClientOptions | None) -> None:
    """Open and close one connection with the security options; raise on a refusal."""
    protocol = (options or {}).get("security_protocol", "PLAINTEXT")
    try:
        conn = await create_conn(
            host,
            port,
            client_id=CLIENT_ID,
            request_timeout_ms=max(1000, int(wait_s * 1000)),
            **security(options),
        )
    except _AUTH_ERRORS as exc:
        raise BrokerAuthError(
            f"the broker refused the {protocol} credentials: {_reason(exc)}",
            bootstrap=f"{host}:{port}",
        ) from exc
    except ssl.SSLError as exc:  # before OSError: SSLError is one
        raise BrokerAuthError(
            f"TLS handshake failed ({protocol}): {exc.reason or exc}; check "
            "AGENTBUS_KAFKA_SSL_CAFILE and that the listener speaks TLS",
            bootstrap=f"{host}:{port}",
        ) from exc
    conn.close()


def _reason(exc: KafkaError) -> str:
    # aiokafka puts the broker's own message (e.g. "Authentication failed during
    # authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512")
    # in the args; never the password.
    text = str(exc).strip()
    return text or type(exc).__name__
