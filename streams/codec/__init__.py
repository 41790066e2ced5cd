"""Avro wire codec of agentbus events.

``AvroCodec`` writes Avro single-object encoding (``C3 01`` + CRC-64-AVRO
fingerprint + body) or, with a ``SchemaRegistryClient``, Confluent framing
(``00`` + schema id + body), and reads both. ``SchemaSet`` holds the schemas
of ``avro/`` (current) and ``avro/history/`` (older versions still readable).

Typical use::

    codec = AvroCodec(SchemaSet.load(default_avro_dir()))
    data = codec.encode("AgentRequest", request)
    request = codec.decode_as("AgentRequest", data)
"""

from streams.codec.codec import AvroCodec, Decoded
from streams.codec.errors import (
    CodecError,
    DecodeError,
    DecodeErrorType,
    EncodeError,
    RegistryError,
    SchemaLoadError,
)
from streams.codec.registry import SchemaRegistryClient
from streams.codec.schemas import RecordSchema, SchemaSet, default_avro_dir

__all__ = [
    "AvroCodec",
    "CodecError",
    "DecodeError",
    "DecodeErrorType",
    "Decoded",
    "EncodeError",
    "RecordSchema",
    "RegistryError",
    "SchemaLoadError",
    "SchemaRegistryClient",
    "SchemaSet",
    "default_avro_dir",
]
