"""The broker's generated ``server.properties``, read back the way Java reads it.

``java.util.Properties.load(InputStream)`` decodes ISO-8859-1 and then resolves
``\\uXXXX`` escapes; ``javaproperties.loads`` over the Latin-1 decoded bytes does
the same here. No broker runs in this module.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import javaproperties
import pytest

from streams.broker import LocalKafka, LocalKafkaConfig, SaslSslListener, ScramUser, _properties
from streams.broker.local import _write_atomic, java_env, scram_credential

NON_ASCII = "données/ä漢/😀"


def _as_java_reads(path: Path) -> dict[str, str]:
    return dict(javaproperties.loads(path.read_bytes().decode("latin-1")))


def _listener(tmp_path: Path, *, keep_plaintext: bool = True) -> SaslSslListener:
    return SaslSslListener(
        port=19094,
        keystore=tmp_path / "tls" / "server.pem",
        cafile=tmp_path / "tls" / "ca.pem",
        users=(ScramUser("broker", 'b"pw\\'), ScramUser("alice", "secret-1")),
        keep_plaintext=keep_plaintext,
    )


def test_a_non_ascii_data_dir_reaches_java_unchanged(tmp_path: Path) -> None:
    data_dir = tmp_path / NON_ASCII
    broker = LocalKafka(LocalKafkaConfig(data_dir=data_dir, port=19092, controller_port=19093))
    path = tmp_path / "server.properties"
    _write_atomic(path, broker.render_properties(), encoding=_properties.ENCODING)
    assert path.read_bytes().isascii()
    assert _as_java_reads(path)["log.dirs"] == str(data_dir / "kafka" / "storage")


def test_utf8_bytes_are_what_java_would_have_mangled(tmp_path: Path) -> None:
    # The bug this module guards against: UTF-8 text read as Latin-1.
    mangled = f"log.dirs={tmp_path / NON_ASCII}\n".encode().decode("latin-1")
    assert javaproperties.loads(mangled)["log.dirs"] != str(tmp_path / NON_ASCII)


def test_non_ascii_comments_in_the_base_are_escaped_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "server.properties"
    text = _properties.render("# ünïcode 漢\na=1\n", {"b": "ä"})
    _write_atomic(path, text, encoding=_properties.ENCODING)
    assert _as_java_reads(path) == {"a": "1", "b": "ä"}


@pytest.mark.parametrize(
    "value", ["", " leading space", "a=b:c#d!e", "tab\there", "back\\slash", "x\ny", NON_ASCII]
)
def test_any_value_round_trips(value: str) -> None:
    text = _properties.render("key=old\n", {"key": value})
    assert text.isascii()
    assert _properties.parse(text) == {"key": value}


def test_plaintext_only_config_keeps_the_four_instance_keys(tmp_path: Path) -> None:
    config = LocalKafkaConfig(data_dir=tmp_path, port=19092, controller_port=19093)
    assert set(config.instance_properties()) == {
        "listeners",
        "advertised.listeners",
        "controller.quorum.bootstrap.servers",
        "log.dirs",
    }
    assert config.client_ports == (19092, 19093)


def test_sasl_ssl_beside_plaintext(tmp_path: Path) -> None:
    config = LocalKafkaConfig(
        data_dir=tmp_path, port=19092, controller_port=19093, sasl_ssl=_listener(tmp_path)
    )
    props = _properties.parse(LocalKafka(config).render_properties())
    assert props["listeners"] == (
        "PLAINTEXT://127.0.0.1:19092,SASL_SSL://127.0.0.1:19094,CONTROLLER://127.0.0.1:19093"
    )
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092,SASL_SSL://127.0.0.1:19094"
    assert props["inter.broker.listener.name"] == "PLAINTEXT"
    assert "CONTROLLER:PLAINTEXT" in props["listener.security.protocol.map"]
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert props["listener.name.sasl_ssl.ssl.keystore.type"] == "PEM"
    assert props["listener.name.sasl_ssl.ssl.keystore.location"] == str(
        tmp_path / "tls" / "server.pem"
    )
    # The listener has its JAAS entry even while brokers talk over PLAINTEXT: Kafka 4.1
    # refuses to start a SASL listener without one.
    assert props["listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config"].startswith(
        "org.apache.kafka.common.security.scram.ScramLoginModule required"
    )
    assert config.bootstrap == "127.0.0.1:19092"
    assert config.client_ports == (19092, 19094, 19093)


def test_sasl_ssl_only_talks_to_itself_as_the_first_user(tmp_path: Path) -> None:
    config = LocalKafkaConfig(
        data_dir=tmp_path,
        port=19092,
        controller_port=19093,
        sasl_ssl=_listener(tmp_path, keep_plaintext=False),
    )
    props = _properties.parse(LocalKafka(config).render_properties())
    assert props["listeners"] == "SASL_SSL://127.0.0.1:19094,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "SASL_SSL://127.0.0.1:19094"
    assert props["inter.broker.listener.name"] == "SASL_SSL"
    assert props["sasl.mechanism.inter.broker.protocol"] == "SCRAM-SHA-512"
    jaas = props["listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config"]
    assert jaas.endswith('username="broker" password="b\\"pw\\\\";')
    assert "secret-1" not in LocalKafka(config).render_properties()
    assert config.bootstrap == "127.0.0.1:19094"
    assert config.client_ports == (19094, 19093)


def test_scram_users_are_formatted_salted_never_in_clear(tmp_path: Path) -> None:
    config = LocalKafkaConfig(data_dir=tmp_path, sasl_ssl=_listener(tmp_path))
    arguments = LocalKafka(config)._scram_arguments()
    assert arguments[0::2] == ["--add-scram", "--add-scram"]
    assert not any("secret-1" in argument for argument in arguments)
    salt = b"0123456789abcdef"
    value = scram_credential("SCRAM-SHA-512", ScramUser("alice", "secret-1"), salt)
    expected = hashlib.pbkdf2_hmac("sha512", b"secret-1", salt, 8192)
    assert value == (
        f'SCRAM-SHA-512=[name=alice,iterations=8192,salt="{base64.b64encode(salt).decode()}",'
        f'saltedpassword="{base64.b64encode(expected).decode()}"]'
    )


def test_passwords_stay_out_of_reprs(tmp_path: Path) -> None:
    config = LocalKafkaConfig(data_dir=tmp_path, sasl_ssl=_listener(tmp_path))
    assert "secret-1" not in repr(config)


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"users": ()}, "at least one SCRAM user"),
        ({"users": (ScramUser("a", "x"), ScramUser("a", "y"))}, "duplicate"),
        ({"port": 0}, "1..65535"),
    ],
)
def test_bad_listeners_are_rejected(tmp_path: Path, kwargs: dict[str, object], reason: str) -> None:
    base: dict[str, object] = {
        "port": 19094,
        "keystore": tmp_path / "k.pem",
        "cafile": tmp_path / "ca.pem",
        "users": (ScramUser("a", "x"),),
    }
    with pytest.raises(ValueError, match=reason):
        SaslSslListener(**{**base, **kwargs})  # type: ignore[arg-type]


def test_scram_names_and_ports_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="plain"):
        ScramUser("a,b", "x")
    with pytest.raises(ValueError, match="needs a password"):
        ScramUser("a", "")
    listener = SaslSslListener(
        port=19092, keystore=tmp_path, cafile=tmp_path, users=(ScramUser("a", "x"),)
    )
    with pytest.raises(ValueError, match="must differ"):
        LocalKafkaConfig(data_dir=tmp_path, port=19092, sasl_ssl=listener)


def test_the_jvm_runs_with_a_utf8_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    # Under LANG=C the JVM could neither decode a non-ASCII path argument nor open it.
    monkeypatch.setenv("LC_ALL", "C")
    monkeypatch.setenv("LANG", "C")
    assert java_env()["LC_ALL"] == "C.UTF-8"
