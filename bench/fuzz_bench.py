"""Fuzz the Avro decoder at volume: random and mutated events, counted by outcome.

Run from the repository root::

    .venv/bin/python -m bench.fuzz_bench [--inputs 1000000] [--seed 0]

Inputs are a fixed mix: random bytes, random bodies behind a known header (so the
body reader is reached, not only the framing check) and valid events of every record
with one to three mutations (bit flips, truncation, extension, fingerprint swaps,
varint-edge bytes, splices of two events). Each goes through ``AvroCodec.decode``.

Prints inputs/s (decode time only, and wall time with generation), the count per
outcome (``decoded`` or the ``DecodeError``'s ``error_type``) and every exception
other than ``DecodeError`` with an example as hex. Exits 1 if there was any: a
consumer would crash on such an input instead of dead-lettering it.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from io import BytesIO
from typing import Literal

import fastavro

from streams.codec import AvroCodec, DecodeError, RecordSchema, SchemaSet, default_avro_dir
from streams.codec.framing import SINGLE_OBJECT_MAGIC
from streams.codec.testing import sample_value

_VARINT_EDGES = (0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF)


def _written_with(version: RecordSchema, optional: Literal["value", "null"]) -> bytes:
    body = BytesIO()
    fastavro.schemaless_writer(body, version.parsed, sample_value(version, optional=optional))
    return SINGLE_OBJECT_MAGIC + version.fingerprint_bytes + body.getvalue()


class Inputs:
    """Deterministic fuzz inputs for one codec's schemas."""

    def __init__(self, codec: AvroCodec, seed: int) -> None:
        self._rng = random.Random(seed)
        schemas = codec.schemas
        # Every version of every record: history ones are read through schema resolution.
        self.valid = [
            _written_with(version, optional)
            for name in schemas.names
            for version in schemas.versions(name)
            for optional in ("value", "null")
        ]
        self.fingerprints = sorted(
            {
                fp
                for name in schemas.names
                for version in schemas.versions(name)
                for fp in (version.fingerprint_bytes, version.alt_fingerprint_bytes)
                if fp is not None
            }
        )
        self.kinds: list[tuple[str, Callable[[], bytes]]] = [
            ("random", self.random_bytes),
            ("header+random", self.header_and_random),
            ("mutated", self.mutated),
            ("mutated", self.mutated),  # weighted: near-valid inputs find the most
        ]

    def next(self) -> tuple[str, bytes]:
        kind, make = self._rng.choice(self.kinds)
        return kind, make()

    def random_bytes(self) -> bytes:
        return self._rng.randbytes(self._rng.randrange(0, 300))

    def header_and_random(self) -> bytes:
        rng = self._rng
        if rng.random() < 0.8:
            header = b"\xc3\x01" + rng.choice(self.fingerprints)
        else:
            header = b"\x00" + rng.randbytes(4)
        return header + rng.randbytes(rng.randrange(0, 300))

    def mutated(self) -> bytes:
        rng = self._rng
        data = bytearray(rng.choice(self.valid))
        for _ in range(rng.randint(1, 3)):
            op = rng.randrange(6)
            if op == 0 and data:
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            elif op == 1:
                del data[rng.randrange(len(data) + 1) :]
            elif op == 2:
                data += rng.randbytes(rng.randint(1, 32))
            elif op == 3 and len(data) >= 10:
                data[2:10] = rng.choice(self.fingerprints)
            elif op == 4 and data:
                data[rng.randrange(len(data))] = rng.choice(_VARINT_EDGES)
            elif op == 5:
                other = rng.choice(self.valid)
                data[rng.randrange(len(data) + 1) :] = other[rng.randrange(len(other) + 1) :]
        return bytes(data)


def run(inputs: int, seed: int) -> int:
    codec = AvroCodec(SchemaSet.load(default_avro_dir()))
    source = Inputs(codec, seed)
    outcomes: Counter[str] = Counter()
    by_kind: Counter[str] = Counter()
    others: Counter[str] = Counter()
    examples: dict[str, bytes] = {}
    decode_s = 0.0
    clock = time.perf_counter
    started = clock()
    for _ in range(inputs):
        kind, data = source.next()
        by_kind[kind] += 1
        t0 = clock()
        try:
            codec.decode(data)
        except DecodeError as exc:
            decode_s += clock() - t0
            outcomes[exc.error_type] += 1
        except Exception as exc:  # noqa: BLE001 -- counting what escapes is the point
            decode_s += clock() - t0
            label = f"{type(exc).__name__}: {str(exc)[:80]}"
            others[label] += 1
            examples.setdefault(label, data)
        else:
            decode_s += clock() - t0
            outcomes["decoded"] += 1
    wall_s = clock() - started

    mix = ", ".join(f"{kind} {count:,}" for kind, count in by_kind.items())
    print(f"inputs: {inputs:,} (seed {seed}); {mix}")
    print(f"decode only: {inputs / decode_s:,.0f} inputs/s ({decode_s * 1e6 / inputs:.2f} µs each)")
    print(f"with generation: {inputs / wall_s:,.0f} inputs/s ({wall_s:.1f} s)")
    print("outcomes:")
    for outcome, count in outcomes.most_common():
        print(f"  {outcome:<15} {count:>10,}")
    print(f"exceptions other than DecodeError: {sum(others.values())}")
    for label, count in others.most_common():
        print(f"  {count:>8,} x {label}")
        print(f"           example: {examples[label].hex()}")
    return 1 if others else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=1_000_000, help="inputs to decode")
    parser.add_argument("--seed", type=int, default=0, help="random seed (runs are repeatable)")
    args = parser.parse_args(argv)
    return run(args.inputs, args.seed)


if __name__ == "__main__":
    sys.exit(main())
