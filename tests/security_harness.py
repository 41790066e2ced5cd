"""A SASL_SSL (SCRAM-SHA-512) local broker for the security tests.

Register the fixture by importing it in a test module (``from tests.security_harness
import secure_kafka``). The broker listens only on SASL_SSL (plus the loopback
PLAINTEXT controller listener only the JVM itself uses), in a data directory whose
name holds non-ASCII characters, with a CA and a server certificate made for the
session.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from streams.broker import LocalKafka, SaslSslListener, ScramUser
from streams.broker.ports import free_ports

__all__ = ["SecureKafka", "make_certificates", "secure_kafka"]

CLIENT_USER = "alice"
CLIENT_PASSWORD = "pw-PLANTED-7f3a9c"  # planted: it must never show up in output or data
NON_ASCII_DIR = "données-ä漢"


@dataclass(frozen=True)
class SecureKafka:
    """A running SASL_SSL broker and what a client needs to reach it."""

    broker: LocalKafka
    bootstrap: str
    cafile: Path
    user: str
    password: str


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_certificates(folder: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """Write a CA (``ca.pem``) and a server keystore (``server.pem``: PKCS#8 key then
    the certificate chain) for ``host``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("agentbus test CA"))
        .issuer_name(_name("agentbus test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(host))
        .issuer_name(ca_cert.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    cafile = folder / "ca.pem"
    cafile.write_bytes(ca_cert.public_bytes(pem))
    keystore = folder / "server.pem"
    keystore.write_bytes(
        server_key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        + server_cert.public_bytes(pem)
        + ca_cert.public_bytes(pem)
    )
    keystore.chmod(0o600)
    return cafile, keystore


def secure_listener(root: Path) -> SaslSslListener:
    """A SASL_SSL (SCRAM-SHA-512) listener with certificates made under ``root``."""
    cafile, keystore = make_certificates(root / "tls")
    (sasl_port,) = free_ports(1)
    return SaslSslListener(
        port=sasl_port,
        keystore=keystore,
        cafile=cafile,
        users=(
            ScramUser("broker", secrets.token_urlsafe(16)),  # inter-broker identity
            ScramUser(CLIENT_USER, CLIENT_PASSWORD),
        ),
        keep_plaintext=True,
    )


def secure_view(broker: LocalKafka) -> SecureKafka:
    """How a client reaches ``broker``'s SASL_SSL listener."""
    listener = broker.config.sasl_ssl
    assert listener is not None, "the session broker has a SASL_SSL listener"
    return SecureKafka(
        broker, f"127.0.0.1:{listener.port}", listener.cafile, CLIENT_USER, CLIENT_PASSWORD
    )


@pytest.fixture(scope="session")
def secure_kafka(kafka_broker: LocalKafka) -> SecureKafka:
    """The session broker's SASL_SSL listener (one broker per test run serves both)."""
    return secure_view(kafka_broker)
