"""Confluent framing against a small real HTTP schema registry running in the test process."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from streams.codec import (
    AvroCodec,
    DecodeError,
    RegistryError,
    SchemaRegistryClient,
    SchemaSet,
    default_avro_dir,
)
from streams.codec.testing import sample_value

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


@dataclass
class RegistryState:
    """What the in-test registry holds and what it was asked."""

    ids: dict[str, int] = field(default_factory=dict)  # schema text -> id
    schemas: dict[int, dict[str, Any]] = field(default_factory=dict)
    subjects: dict[str, list[int]] = field(default_factory=dict)
    requests: list[tuple[str, str, str | None, str | None]] = field(default_factory=list)
    fail_with: int | None = None  # answer every request with this status
    lock: threading.Lock = field(default_factory=threading.Lock)

    def gets(self, path: str) -> int:
        return sum(1 for method, p, _, _ in self.requests if method == "GET" and p == path)


class RegistryHandler(BaseHTTPRequestHandler):
    """POST /subjects/{subject}/versions and GET /schemas/ids/{id}, as Confluent's registry."""

    server: RegistryServer

    def do_POST(self) -> None:
        state = self._record()
        parts = self.path.strip("/").split("/")
        if state.fail_with or len(parts) != 3 or parts[0] != "subjects" or parts[2] != "versions":
            self._answer(state.fail_with or 404, {"error_code": 404, "message": "no such route"})
            return
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        text = body["schema"]
        try:
            json.loads(text)
        except ValueError:
            self._answer(422, {"error_code": 42201, "message": "Invalid schema"})
            return
        with state.lock:
            schema_id = state.ids.setdefault(text, len(state.ids) + 1)
            state.schemas[schema_id] = {"schema": text}
            state.subjects.setdefault(unquote(parts[1]), []).append(schema_id)
        self._answer(200, {"id": schema_id})

    def do_GET(self) -> None:
        state = self._record()
        parts = self.path.strip("/").split("/")
        if state.fail_with:
            self._answer(state.fail_with, {"error_code": state.fail_with, "message": "unwell"})
        elif len(parts) == 3 and parts[:2] == ["schemas", "ids"] and int(parts[2]) in state.schemas:
            self._answer(200, state.schemas[int(parts[2])])
        else:
            self._answer(404, {"error_code": 40403, "message": "Schema not found"})

    def log_message(self, format: str, *args: Any) -> None:  # stdlib signature
        pass  # keep pytest output clean

    def _record(self) -> RegistryState:
        state = self.server.state
        with state.lock:
            state.requests.append(
                (
                    self.command,
                    self.path,
                    self.headers.get("Content-Type"),
                    self.headers.get("Authorization"),
                )
            )
        return state

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class RegistryServer(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), RegistryHandler)
        self.state = RegistryState()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def registry_server() -> Iterator[RegistryServer]:
    server = RegistryServer()
    # A short poll interval keeps shutdown (once per test) fast.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def client(registry_server: RegistryServer) -> Iterator[SchemaRegistryClient]:
    with SchemaRegistryClient(registry_server.url) as registry:
        yield registry


@pytest.fixture(scope="module")
def schemas() -> SchemaSet:
    return SchemaSet.load(default_avro_dir())


RECORDS = ("AgentRequest", "AgentResult", "AgentTask", "DeadLetter", "Invocation")


@pytest.mark.parametrize("name", RECORDS)
def test_every_record_round_trips_in_confluent_framing(
    registry_server: RegistryServer, client: SchemaRegistryClient, schemas: SchemaSet, name: str
) -> None:
    codec = AvroCodec(schemas, client)
    value = sample_value(schemas.current(name))
    data = codec.encode(name, value)

    subject = f"agentbus.events.{name}"
    [schema_id] = registry_server.state.subjects[subject]
    assert data[:1] == b"\x00"
    assert int.from_bytes(data[1:5], "big") == schema_id
    registered = json.loads(registry_server.state.schemas[schema_id]["schema"])
    assert registered["name"] == name
    assert registered["namespace"] == "agentbus.events"

    decoded = codec.decode(data)
    assert (decoded.name, decoded.value, decoded.schema_id) == (name, value, schema_id)
    assert decoded.fingerprint == schemas.current(name).fingerprint


def test_registration_happens_once_with_the_registry_content_type(
    registry_server: RegistryServer, client: SchemaRegistryClient, schemas: SchemaSet
) -> None:
    codec = AvroCodec(schemas, client)
    value = sample_value(schemas.current("AgentRequest"))
    first = codec.encode("AgentRequest", value)
    assert codec.encode("AgentRequest", value) == first
    assert codec.decode_as("AgentRequest", first) == value
    assert registry_server.state.requests == [
        ("POST", "/subjects/agentbus.events.AgentRequest/versions", CONTENT_TYPE, None)
    ]


def test_a_fresh_codec_fetches_an_unknown_id_once(
    registry_server: RegistryServer, client: SchemaRegistryClient, schemas: SchemaSet
) -> None:
    value = sample_value(schemas.current("Invocation"))
    data = AvroCodec(schemas, client).encode("Invocation", value)
    schema_id = int.from_bytes(data[1:5], "big")

    with SchemaRegistryClient(registry_server.url) as other_client:
        consumer = AvroCodec(schemas, other_client)
        assert consumer.decode_as("Invocation", data) == value
        assert consumer.decode_as("Invocation", data) == value
    assert registry_server.state.gets(f"/schemas/ids/{schema_id}") == 1


def test_register_schemas_up_front(
    registry_server: RegistryServer, client: SchemaRegistryClient, schemas: SchemaSet
) -> None:
    codec = AvroCodec(schemas, client)
    ids = codec.register_schemas()
    assert sorted(ids) == sorted(schemas.names)
    assert {f"agentbus.events.{n}": [i] for n, i in ids.items()} == registry_server.state.subjects
    posts = len(registry_server.state.requests)
    codec.encode("AgentTask", sample_value(schemas.current("AgentTask")))
    assert len(registry_server.state.requests) == posts
    assert AvroCodec(schemas).register_schemas() == {}


def test_both_framings_are_read_whatever_the_codec_writes(
    client: SchemaRegistryClient, schemas: SchemaSet
) -> None:
    value = sample_value(schemas.current("AgentResult"))
    single_object_codec = AvroCodec(schemas)
    confluent_codec = AvroCodec(schemas, client)
    assert (single_object_codec.framing, confluent_codec.framing) == ("single-object", "confluent")
    single = single_object_codec.encode("AgentResult", value)
    assert confluent_codec.decode_as("AgentResult", single) == value
    confluent = confluent_codec.encode("AgentResult", value)
    with pytest.raises(DecodeError, match="no schema registry is configured"):
        single_object_codec.decode(confluent)


def test_an_id_the_registry_does_not_know_is_unknown_schema_and_asked_once(
    registry_server: RegistryServer, client: SchemaRegistryClient, schemas: SchemaSet
) -> None:
    codec = AvroCodec(schemas, client)
    data = b"\x00\x00\x00\x01\x00" + b"\x02body"
    for _ in range(2):
        with pytest.raises(DecodeError) as info:
            codec.decode(data)
        assert info.value.error_type == "unknown_schema"
        assert str(info.value) == f"schema id 256 not found in {registry_server.url}"
    assert registry_server.state.gets("/schemas/ids/256") == 1


def test_a_registry_schema_of_a_foreign_record_is_unknown_schema(
    registry_server: RegistryServer, client: SchemaRegistryClient, schemas: SchemaSet
) -> None:
    foreign = {"type": "record", "name": "Order", "namespace": "shop", "fields": []}
    schema_id = client.register("shop.Order", json.dumps(foreign))
    with pytest.raises(DecodeError) as info:
        AvroCodec(schemas, client).decode(b"\x00" + schema_id.to_bytes(4, "big"))
    assert info.value.error_type == "unknown_schema"
    assert f"schema id {schema_id} is record shop.Order, not one of" in str(info.value)


def test_a_v1_consumer_reads_v2_events_through_the_registry(
    client: SchemaRegistryClient, schemas: SchemaSet, tmp_path: Path
) -> None:
    # Forward compatibility: the registry hands the old consumer the new writer
    # schema, and fastavro resolves it to the consumer's v1.
    shutil.copy(default_avro_dir() / "history" / "AgentRequest.v1.avsc", tmp_path)
    old_consumer = AvroCodec(SchemaSet.load(tmp_path), client)
    value = sample_value(schemas.current("AgentRequest"))
    data = AvroCodec(schemas, client).encode("AgentRequest", value)
    decoded = old_consumer.decode(data)
    assert decoded.value == {k: v for k, v in value.items() if k != "session_id"}
    assert decoded.fingerprint == schemas.current("AgentRequest").fingerprint


def test_registry_failures_raise_registry_error_not_decode_error(
    registry_server: RegistryServer, client: SchemaRegistryClient, schemas: SchemaSet
) -> None:
    registry_server.state.fail_with = 503
    codec = AvroCodec(schemas, client)
    with pytest.raises(RegistryError) as info:
        codec.decode(b"\x00\x00\x00\x00\x07\x02")
    assert info.value.status == 503
    assert info.value.retriable
    assert str(info.value) == (
        f"schema registry {registry_server.url}: GET /schemas/ids/7: unwell (HTTP 503)"
    )
    with pytest.raises(RegistryError, match=r"POST /subjects/agentbus\.events\.AgentTask/versions"):
        codec.encode("AgentTask", sample_value(schemas.current("AgentTask")))


def test_a_rejected_schema_is_not_retriable(client: SchemaRegistryClient) -> None:
    with pytest.raises(RegistryError) as info:
        client.register("agentbus.events.Broken", "{not json")
    assert info.value.status == 422
    assert not info.value.retriable
    assert "Invalid schema" in str(info.value)


def test_an_unreachable_registry_is_retriable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = SchemaRegistryClient(f"http://127.0.0.1:{port}", timeout=2.0)
    with client, pytest.raises(RegistryError) as info:
        client.get_schema(1)
    assert info.value.status is None
    assert info.value.retriable
    assert "(no response)" in str(info.value)


def test_credentials_in_the_url_become_basic_auth_and_never_show(
    registry_server: RegistryServer,
) -> None:
    url = registry_server.url.replace("http://", "http://svc-agentbus:s3cr%40t@")
    with SchemaRegistryClient(url) as client:
        client.register("agentbus.events.X", '{"type": "string"}')
        assert client.url == registry_server.url
        assert "s3cr" not in repr(client)
        with pytest.raises(RegistryError) as info:
            client.get_schema(999)
    assert "s3cr" not in str(info.value)
    assert info.value.url == registry_server.url
    expected = "Basic " + base64.b64encode(b"svc-agentbus:s3cr@t").decode()
    assert {auth for _, _, _, auth in registry_server.state.requests} == {expected}


def test_a_registry_url_must_be_http() -> None:
    with pytest.raises(ValueError, match="must be http"):
        SchemaRegistryClient("localhost:8081")
