#!/usr/bin/env python3
"""Writes the seed corpus for the DunlinWire fuzz harness into Tests/Fuzz/corpus/.

Each seed is a harness input (see Sources/DunlinWireFuzzing/WireFuzz.swift): a mode byte, the
mode's parameter bytes, then valid wire bytes built here independently of the Swift code, from
Protocol/dunlin.proto compiled by protoc (`python3 -m grpc_tools.protoc`) and Python's zlib.

    python3 Tests/Fuzz/make_corpus.py
"""
import os
import struct
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
PROTOCOL = os.path.normpath(os.path.join(HERE, "..", "..", "Protocol"))
CORPUS = os.path.join(HERE, "corpus")

# Modes (first byte of a harness input).
SERVER, DECOMPRESS, PROTOBUF, CLIENT = 0, 1, 2, 3
# Runtime policy flags (third byte of a connection-mode input); the fourth byte is a count
# (server: graceful shutdown after that many items, high bit: authenticate late; client: streams).
SMALL_LIMITS, CONSUME, DEFER, ANSWER, DISCARD = 0x01, 0x02, 0x04, 0x08, 0x10
CLOCK_6S, CLOCK_ZERO, CLOCK_RANDOM, CLOCK_1S = 0x00, 0x40, 0x80, 0xC0

HELLO, WELCOME, OPEN, MESSAGE, HALF_CLOSE, END, CANCEL, PING, PONG, GOAWAY, WINDOW = range(1, 12)
END_STREAM, COMPRESSED = 0x01, 0x02


def load_messages():
    out = tempfile.mkdtemp(prefix="dunlin-pb2-")
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-I", PROTOCOL, "--python_out", out,
         os.path.join(PROTOCOL, "dunlin.proto")],
        check=True,
    )
    sys.path.insert(0, out)
    import dunlin_pb2  # noqa: E402
    return dunlin_pb2


pb = load_messages()


def preface(low=1, high=1):
    return b"DNLN" + struct.pack(">HH", low, high)


def frame(kind, stream=0, payload=b"", flags=0):
    return struct.pack(">IBBI", len(payload), kind, flags, stream) + payload


def hello(**fields):
    message = pb.Hello(token="tok_analyst", replica_id="r-1", client_version="dunlin/0.1.0",
                       schema_version=3, accept_compression=["deflate"], **fields)
    return frame(HELLO, 0, message.SerializeToString())


def call_open(stream, method="/dunlin.v1.Diagnostics/Echo", flags=0, timeout_us=2_000_000):
    message = pb.CallOpen(method=method, timeout_us=timeout_us,
                          metadata=[pb.MetadataEntry(key="x-request-id", value=b"abc-123")])
    return frame(OPEN, stream, message.SerializeToString(), flags)


def echo(payload):
    return pb.EchoRequest(payload=payload, delay_ms=0).SerializeToString()


def message(stream, body, flags=0):
    return frame(MESSAGE, stream, body, flags)


def compressed(stream, body, flags=0):
    return frame(MESSAGE, stream, zlib.compress(body), flags | COMPRESSED)


def window(stream, increment):
    return frame(WINDOW, stream, struct.pack(">I", increment))


def ping(data=b"\x00\x01\x02\x03\x04\x05\x06\x07"):
    return frame(PING, 0, data)


def goaway(reason=0, last=0, text="client leaving"):
    return frame(GOAWAY, 0, pb.GoAway(last_stream_id=last, reason=reason, code=14, message=text).SerializeToString())


def welcome():
    message = pb.Welcome(
        version=1, server_version="dunlind/0.1.0",
        limits=pb.Limits(max_frame_size=4 << 20, max_message_size=4 << 20, max_metadata_size=8 << 10,
                         max_concurrent_streams=128, initial_window=1 << 20, idle_timeout_ms=300_000,
                         min_ping_interval_ms=5_000, handshake_timeout_ms=10_000),
        principal=pb.Principal(id="u-1", name="Ana", tenant_id="t-1", role="analyst"),
        accept_compression=["deflate"], connection_id="c-1")
    return frame(WELCOME, 0, message.SerializeToString())


def status(stream, code=0, text=""):
    message = pb.Status(code=code, message=text,
                        details=[pb.ErrorDetail(field="payload", reason="too_long", byte_offset=42)],
                        trailers=[pb.MetadataEntry(key="x-cost", value=b"7")])
    return frame(END, stream, message.SerializeToString())


def connection(mode, chunk_seed, flags, count, wire):
    return bytes([mode, chunk_seed, flags, count]) + wire


BIG = b"invoice INV-2026-0042 due 2026-12-01 amount 1250.00 USD; " * 40  # 2.3 KB, compresses well

SEEDS = {
    # Server side: what a client sends.
    "server-preface": connection(SERVER, 0, 0, 0, preface()),
    "server-preface-versions": connection(SERVER, 3, 0, 0, preface(1, 7)),
    "server-hello": connection(SERVER, 1, ANSWER, 0, preface() + hello()),
    "server-hello-limits": connection(SERVER, 2, CONSUME | ANSWER, 0,
                                      preface() + hello(max_frame_size=65536, initial_window=32768)),
    "server-open": connection(SERVER, 7, ANSWER, 0, preface() + hello() + call_open(1)),
    "server-open-end-stream": connection(SERVER, 0, ANSWER | CONSUME, 0,
                                         preface() + hello() + call_open(1, flags=END_STREAM)),
    "server-message": connection(SERVER, 5, CONSUME | ANSWER, 0,
                                 preface() + hello() + call_open(1) + message(1, echo(b"hello dunlin"))
                                 + frame(HALF_CLOSE, 1)),
    "server-message-end-stream": connection(SERVER, 0, CONSUME | ANSWER | SMALL_LIMITS, 0,
                                            preface() + hello() + call_open(1)
                                            + message(1, echo(b"x" * 100), END_STREAM)),
    "server-message-compressed": connection(SERVER, 4, CONSUME | ANSWER, 0,
                                            preface() + hello() + call_open(1)
                                            + compressed(1, echo(BIG), END_STREAM)),
    "server-flow-control": connection(SERVER, 0, SMALL_LIMITS, 0,
                                      preface() + hello() + call_open(1) + message(1, echo(b"tiny"))
                                      + message(1, b"a" * 1000) + message(1, b"b" * 1000) + message(1, b"c")),
    "server-deferred-consume": connection(SERVER, 1, SMALL_LIMITS | CONSUME | DEFER, 0,
                                          preface() + hello() + call_open(1) + message(1, echo(b"tiny"))
                                          + message(1, b"a" * 1000) + message(1, b"b" * 1000) + window(1, 100)
                                          + message(1, b"c")),
    "server-too-many-streams": connection(SERVER, 0, SMALL_LIMITS, 0,
                                          preface() + hello() + call_open(1) + call_open(3) + call_open(5)
                                          + call_open(7)),
    "server-message-too-large": connection(SERVER, 0, SMALL_LIMITS | CONSUME, 0,
                                           preface() + hello() + call_open(1) + message(1, b"m" * 1500)),
    "server-authenticate-late": connection(SERVER, 0, ANSWER, 0x80, preface() + hello() + ping()),
    "server-ping": connection(SERVER, 1, CLOCK_6S, 0, preface() + hello() + ping() + ping(b"ABCDEFGH")),
    "server-ping-flood": connection(SERVER, 0, CLOCK_ZERO, 0, preface() + hello() + ping() * 4),
    "server-window": connection(SERVER, 2, CONSUME, 0,
                                preface() + hello() + call_open(1) + window(1, 65536)),
    "server-goaway": connection(SERVER, 0, 0, 0, preface() + hello() + call_open(1) + goaway(last=1)),
    "server-cancel": connection(SERVER, 3, ANSWER, 0,
                                preface() + hello() + call_open(1) + call_open(3) + frame(CANCEL, 1)),
    "server-graceful-shutdown": connection(SERVER, 0, ANSWER, 3,
                                           preface() + hello() + call_open(1) + call_open(2)
                                           + message(1, echo(b"late"))),
    "server-session": connection(
        SERVER, 6, CONSUME | ANSWER | SMALL_LIMITS | CLOCK_RANDOM, 0,
        preface() + hello() + ping() + call_open(1) + message(1, echo(b"a" * 200))
        + call_open(3, method="/dunlin.v1.Diagnostics/Sum") + message(3, pb.SumRequest(value=5).SerializeToString())
        + message(3, pb.SumRequest(value=-2).SerializeToString(), END_STREAM) + window(1, 4096)
        + compressed(1, echo(BIG[:900])) + frame(HALF_CLOSE, 1) + goaway()),
    # Client side: what a server sends.
    "client-welcome": connection(CLIENT, 0, 0, 0, welcome()),
    "client-call": connection(CLIENT, 1, CONSUME | ANSWER, 1,
                              welcome() + window(1, 4096)
                              + message(1, pb.EchoResponse(payload=b"hi").SerializeToString())
                              + status(1)),
    "client-compressed": connection(CLIENT, 4, CONSUME | ANSWER, 2 | 8,
                                    welcome() + compressed(1, pb.EchoResponse(payload=BIG).SerializeToString())
                                    + status(1, code=3, text="bad payload") + status(2)),
    "client-ping-pong": connection(CLIENT, 2, 0, 0, welcome() + ping() + frame(PONG, 0, b"\x00" * 8)),
    "client-goaway": connection(CLIENT, 0, ANSWER, 3, welcome() + goaway(last=1) + status(1)),
    "client-goaway-handshake": connection(CLIENT, 0, 0, 0, goaway(reason=15, text="token refused")),
    # Decompression: a cap index, then a compressed payload.
    "decompress-small": bytes([DECOMPRESS, 8]) + zlib.compress(b"hello, dunlin"),
    "decompress-echo": bytes([DECOMPRESS, 11]) + zlib.compress(echo(BIG), 9),
    "decompress-bomb": bytes([DECOMPRESS, 9]) + zlib.compress(b"\x00" * 65536, 9),
    "decompress-empty": bytes([DECOMPRESS, 0]) + zlib.compress(b""),
    "decompress-stored": bytes([DECOMPRESS, 6]) + zlib.compress(bytes(range(200)), 0),
    # Protobuf payloads: a type index (0 Hello, 1 CallOpen, 2 GoAway, 3 Status, 4 Welcome), then the bytes.
    "protobuf-hello": bytes([PROTOBUF, 0]) + hello()[10:],
    "protobuf-open": bytes([PROTOBUF, 1]) + call_open(1)[10:],
    "protobuf-goaway": bytes([PROTOBUF, 2]) + goaway(reason=5, last=9, text="bad frame")[10:],
    "protobuf-status": bytes([PROTOBUF, 3]) + status(1, code=5, text="invoice not found")[10:],
    "protobuf-welcome": bytes([PROTOBUF, 4]) + welcome()[10:],
}


def main():
    os.makedirs(CORPUS, exist_ok=True)
    for name in os.listdir(CORPUS):
        os.remove(os.path.join(CORPUS, name))
    for name, data in sorted(SEEDS.items()):
        with open(os.path.join(CORPUS, name), "wb") as f:
            f.write(data)
    print(f"wrote {len(SEEDS)} seeds to {CORPUS}")


if __name__ == "__main__":
    main()
