#!/usr/bin/env python3
"""Writes Protocol/vectors/vectors.json: the golden vectors of the Dunlin wire protocol.

An independent implementation of the bytes in Protocol/PROTOCOL.md, with nothing from the Swift
code: headers and prefaces are packed here with `struct`, payloads are serialised by Google's
protobuf library from Protocol/dunlin.proto, compression is Python's zlib. The Swift tests
(Tests/DunlinWireTests/VectorTests.swift) read only the JSON; so can a client in any language.

Needs protoc's Python plugin and the protobuf runtime:

    pip install grpcio-tools          # brings grpc_tools.protoc and google.protobuf
    python3 Protocol/vectors/generate.py

Each vector is one side's inbound byte stream from its first byte, so offsets count as in
PROTOCOL.md §1:

- `side`: "server" for bytes a server reads (they start with the client's preface), "client" for
  bytes a client reads (they start with the server's first frame).
- `hex`: the bytes.
- `client_streams` (client side only): the stream ids the client opened, in order, once WELCOME
  had arrived and before the rest of the bytes did (a client's OPENs are outbound, so they are
  not in `hex`).
- Either `frames`: what the bytes decode to, in order. A preface is
  `{"kind": "preface", "min": 1, "max": 1}`; a frame is `{"kind": "frame", "type": "MESSAGE",
  "type_code": 4, "flags": 3, "flag_names": [...], "stream": 1, "payload_hex": ...}` plus, for a
  protobuf payload, `message_type` (the full protobuf name) and `message` (its fields in
  protobuf's JSON mapping, proto field names, defaults left out), for a COMPRESSED message
  `decompressed_hex` (then `message` is the decompressed message), and for WINDOW `increment`.
  The whole stream is valid: a receiver that accepts the credential in HELLO reads it without a
  protocol error.
- Or `error`: the protocol error the receiver must raise, `{"reason": "GO_AWAY_REASON_...",
  "byte_offset": N, "stream": S}`, as the GOAWAY it sends would carry them (PROTOCOL.md §4.3,
  §15.1). Everything before the offending frame is valid, so exactly one rule is broken.

Compressed bytes are not canonical (another zlib may produce other, equally valid bytes); what a
receiver must match is the decompressed form.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
PROTOCOL = os.path.dirname(HERE)
OUTPUT = os.path.join(HERE, "vectors.json")


def load_messages():
    """Compiles dunlin.proto into a temporary directory and imports it."""
    out = tempfile.mkdtemp(prefix="dunlin-vectors-")
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-I", PROTOCOL, "--python_out", out,
         os.path.join(PROTOCOL, "dunlin.proto")],
        check=True,
    )
    sys.path.insert(0, out)
    import dunlin_pb2  # noqa: E402
    return dunlin_pb2


pb = load_messages()
from google.protobuf import json_format  # noqa: E402  (after protoc ran, like the import above)

# PROTOCOL.md §4.1 and §4.2.
TYPES = {
    "HELLO": 0x01, "WELCOME": 0x02, "OPEN": 0x03, "MESSAGE": 0x04, "HALF_CLOSE": 0x05, "END": 0x06,
    "CANCEL": 0x07, "PING": 0x08, "PONG": 0x09, "GOAWAY": 0x0A, "WINDOW": 0x0B,
}
NAMES = {code: name for name, code in TYPES.items()}
END_STREAM, COMPRESSED = 0x01, 0x02
FLAG_NAMES = [(END_STREAM, "END_STREAM"), (COMPRESSED, "COMPRESSED")]
HEADER = 10
MAX_FRAME = 4 << 20     # default max_frame_size and max_message_size
MAX_METADATA = 8 << 10  # default max_metadata_size

# Offsets inside a frame header (PROTOCOL.md §4.3, §15.1).
AT_LENGTH, AT_TYPE, AT_FLAGS, AT_STREAM, AT_PAYLOAD = 0, 4, 5, 6, 10


def header(length, type_code, flags, stream):
    return struct.pack(">IBBI", length, type_code, flags, stream)


def as_json(message):
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


class Stream:
    """One side's inbound bytes, built item by item, with what each item decodes to."""

    def __init__(self, side, client_streams=None):
        self.side = side
        self.data = bytearray()
        self.items = []
        self.client_streams = client_streams

    def preface(self, low=1, high=1):
        start = len(self.data)
        self.data += b"DNLN" + struct.pack(">HH", low, high)
        self.items.append({"kind": "preface", "min": low, "max": high})
        return start

    def frame(self, type_name, stream=0, payload=b"", flags=0, message=None, decompressed=None,
              type_code=None):
        """Appends a frame; `message` is the protobuf it carries (decompressed, if COMPRESSED)."""
        start = len(self.data)
        code = TYPES[type_name] if type_code is None else type_code
        if message is not None and decompressed is None and not flags & COMPRESSED:
            payload = message.SerializeToString()
        self.data += header(len(payload), code, flags, stream) + payload
        item = {
            "kind": "frame", "type": NAMES.get(code, "UNKNOWN"), "type_code": code, "flags": flags,
            "flag_names": [name for bit, name in FLAG_NAMES if flags & bit],
            "stream": stream, "payload_hex": payload.hex(),
        }
        if decompressed is not None:
            item["decompressed_hex"] = decompressed.hex()
        if message is not None:
            item["message_type"] = message.DESCRIPTOR.full_name
            item["message"] = as_json(message)
        if type_name == "WINDOW" and len(payload) == 4:
            item["increment"] = struct.unpack(">I", payload)[0]
        self.items.append(item)
        return start

    def compressed(self, stream, message, flags=0, level=6):
        raw = message.SerializeToString()
        packed = zlib.compress(raw, level)
        assert len(packed) < len(raw), "a compressed vector must really compress"
        return self.frame("MESSAGE", stream, packed, flags | COMPRESSED, message=message, decompressed=raw)

    def raw(self, data):
        """Appends bytes that are not a whole, valid item (the broken part of an invalid vector)."""
        start = len(self.data)
        self.data += data
        return start

    # Frames most vectors share: PROTOCOL.md §17's handshake and Echo call.

    def hello(self, **fields):
        return self.frame("HELLO", 0, message=hello_message(**fields))

    def handshake(self):
        """The client's preface and HELLO: the start of every valid server-side stream."""
        self.preface()
        return self.hello()

    def welcome(self):
        return self.frame("WELCOME", 0, message=welcome_message())

    def open(self, stream, method="/dunlin.v1.Diagnostics/Echo", flags=0, timeout_us=5_000_000,
             metadata=(("request-id", b"42"),)):
        message = pb.CallOpen(method=method, timeout_us=timeout_us,
                              metadata=[pb.MetadataEntry(key=k, value=v) for k, v in metadata])
        return self.frame("OPEN", stream, message=message, flags=flags)


def hello_message(**fields):
    values = dict(token="dk_live_7Hq2xV9c", replica_id="r4f1c2a9b7d3e4f5061728394a5b6c7d8", client_version="dunlin/0.1.0",
                  schema_version=2, accept_compression=["deflate"], max_frame_size=MAX_FRAME,
                  initial_window=1 << 20)
    values.update(fields)
    return pb.Hello(**values)


def welcome_message(**fields):
    values = dict(
        version=1, server_version="0.1.0",
        limits=pb.Limits(max_frame_size=MAX_FRAME, max_message_size=MAX_FRAME,
                         max_metadata_size=MAX_METADATA, max_concurrent_streams=128,
                         initial_window=1 << 20, idle_timeout_ms=300_000, min_ping_interval_ms=5_000,
                         handshake_timeout_ms=10_000),
        principal=pb.Principal(id="u-17", name="Ana Reyes", tenant_id="t-acme", role="analyst"),
        accept_compression=["deflate"], connection_id="c1")
    values.update(fields)
    return pb.Welcome(**values)


def echo_request(payload=b"hello", delay_ms=0):
    return pb.EchoRequest(payload=payload, delay_ms=delay_ms)


VECTORS = []


def valid(name, description, stream):
    VECTORS.append(_vector(name, description, stream) | {"frames": stream.items})


def invalid(name, description, stream, reason, byte_offset, error_stream=0):
    assert reason in pb.GoAwayReason.keys(), reason
    assert 0 <= byte_offset <= len(stream.data), (name, byte_offset)
    VECTORS.append(_vector(name, description, stream) | {
        "error": {"reason": reason, "byte_offset": byte_offset, "stream": error_stream},
    })


def _vector(name, description, stream):
    assert all(v["name"] != name for v in VECTORS), name
    vector = {"name": name, "description": description, "side": stream.side, "hex": stream.data.hex()}
    if stream.client_streams is not None:
        assert stream.side == "client"
        vector["client_streams"] = stream.client_streams
    return vector


def server():
    return Stream("server")


def client(*streams):
    return Stream("client", list(streams))


# ---------------------------------------------------------------------------------------------
# Valid streams: every frame type, the handshake and a unary call.
# ---------------------------------------------------------------------------------------------

s = server()
s.preface()
s.hello()
valid("handshake-hello", "The client's preface (versions 1..1) and HELLO with its credential, "
      "capabilities and announced limits (PROTOCOL.md §17, frames 1-2).", s)

s = client()
s.welcome()
valid("handshake-welcome", "The server's WELCOME: chosen version, the default limits, the principal, "
      "deflate accepted and the connection id (PROTOCOL.md §17, frame 3).", s)

s = server()
s.handshake()
s.open(1)
s.frame("MESSAGE", 1, message=echo_request(), flags=END_STREAM)
valid("unary-echo-request", "A whole unary Echo call as the server reads it: preface, HELLO, OPEN on "
      "stream 1 with a 5 s deadline and one metadata entry, and the request MESSAGE carrying "
      "END_STREAM (PROTOCOL.md §17, frames 1, 2, 4, 5).", s)

s = client(1)
s.welcome()
s.frame("MESSAGE", 1, message=pb.EchoResponse(payload=b"hello"))
s.frame("END", 1, message=pb.Status())
valid("unary-echo-response", "The same call as the client reads it: WELCOME, the response MESSAGE, "
      "and END with an empty payload, i.e. Status OK (PROTOCOL.md §17, frames 3, 6, 7).", s)

s = server()
s.handshake()
s.open(1)
s.compressed(1, echo_request(b"a" * 2000), flags=END_STREAM)
valid("message-compressed-request", "A compressed request: an EchoRequest of 2,003 bytes sent as one "
      "zlib stream (RFC 1950) with END_STREAM|COMPRESSED (PROTOCOL.md §17.1).", s)

s = client(1)
s.welcome()
s.compressed(1, pb.EchoResponse(payload=b"invoice INV-2026-0042 due 2026-12-01 amount 1250.00 USD; " * 40))
s.frame("END", 1, message=pb.Status())
valid("message-compressed-response", "A compressed response of 2.3 KB the client inflates, then END OK.", s)

s = server()
s.handshake()
s.open(1, method="/dunlin.v1.Diagnostics/Sum", timeout_us=0, metadata=())
s.frame("MESSAGE", 1, message=pb.SumRequest(value=5))
s.frame("MESSAGE", 1, message=pb.SumRequest(value=-3))
s.frame("HALF_CLOSE", 1)
valid("client-streaming-half-close", "A client-streaming Sum: OPEN, two requests (one negative, a "
      "ten-byte varint), then a separate HALF_CLOSE frame.", s)

s = server()
s.handshake()
s.open(5, method="/dunlin.v1.Diagnostics/Sum", flags=END_STREAM, timeout_us=0, metadata=())
valid("open-end-stream", "An OPEN carrying END_STREAM: a Sum with no values, on stream 5 (ids may "
      "skip) (PROTOCOL.md §17.1).", s)

s = client(1)
s.welcome()
s.frame("END", 1, message=pb.Status(
    code=3, message="amount must be positive",
    details=[pb.ErrorDetail(field="amount_minor", reason="not_positive", line=17, column=4,
                            byte_offset=2048, record_id="inv-42")],
    trailers=[pb.MetadataEntry(key="retry-after", value=b"0")]))
valid("end-error-details", "END with INVALID_ARGUMENT, a message, an ErrorDetail with every field, "
      "and a trailer.", s)

s = server()
s.handshake()
s.open(1)
s.frame("MESSAGE", 1, message=echo_request(delay_ms=30_000), flags=END_STREAM)
s.frame("CANCEL", 1)
valid("cancel", "The client cancels a half-closed call (an Echo waiting 30 s) with CANCEL.", s)

s = server()
s.handshake()
s.frame("PING", 0, bytes.fromhex("0000000000000001"))
valid("ping", "A PING with eight opaque bytes (PROTOCOL.md §17, frame 8).", s)

s = client()
s.welcome()
s.frame("PONG", 0, bytes.fromhex("0000000000000001"))
valid("pong", "The PONG echoing them (PROTOCOL.md §17, frame 9).", s)

s = client(1)
s.welcome()
s.frame("GOAWAY", 0, message=pb.GoAway(last_stream_id=1, code=14, message="server is shutting down"))
valid("goaway-graceful", "A graceful GOAWAY: NO_ERROR, last_stream_id 1, UNAVAILABLE "
      "(PROTOCOL.md §17, frame 10).", s)

s = client()
s.frame("GOAWAY", 0, message=pb.GoAway(reason=pb.GO_AWAY_REASON_UNAUTHENTICATED, code=16,
                                       message="token refused"))
valid("goaway-unauthenticated", "A server refusing the credential: GOAWAY UNAUTHENTICATED as its "
      "first frame, instead of WELCOME.", s)

s = server()
s.handshake()
s.frame("GOAWAY", 0, message=pb.GoAway(code=14, message="client leaving"))
valid("goaway-client-leaving", "A client leaving: GOAWAY NO_ERROR with every id at 0.", s)

s = server()
s.handshake()
s.open(1, method="/dunlin.v1.Diagnostics/EchoStream")
s.frame("MESSAGE", 1, message=pb.EchoStreamRequest(payload=b"tick", count=10), flags=END_STREAM)
s.frame("WINDOW", 1, struct.pack(">I", 524_288))
valid("window-from-client", "The client returns 512 KiB of credit on a half-closed server-streaming "
      "call.", s)

s = client(1)
s.welcome()
s.frame("WINDOW", 1, struct.pack(">I", 65_536))
valid("window-from-server", "The server grants the client 64 KiB more credit on stream 1.", s)

# ---------------------------------------------------------------------------------------------
# Invalid streams: each breaks one rule, at a known byte.
# ---------------------------------------------------------------------------------------------

s = server()
s.raw(b"GET / HTTP/1.1\r\nHost: localhost:7474\r\n\r\n")
invalid("bad-magic", "An HTTP request instead of the preface: the magic is not DNLN.", s,
        "GO_AWAY_REASON_BAD_PREFACE", 0)

s = server()
s.preface(2, 3)
invalid("unsupported-version", "A preface offering versions 2..3; the server speaks 1..1. The offset "
        "is that of the version range.", s, "GO_AWAY_REASON_UNSUPPORTED_VERSION", 4)

s = server()
s.preface(0, 0)
invalid("version-zero", "A preface offering only version 0, which does not exist.", s,
        "GO_AWAY_REASON_UNSUPPORTED_VERSION", 4)

s = server()
s.raw(b"DNLN\x00")
invalid("truncated-preface", "The client closes after 5 bytes of the preface.", s,
        "GO_AWAY_REASON_TRUNCATED", 0)

s = server()
s.handshake()
s.open(1)
at = s.raw(header(MAX_FRAME + 1, TYPES["MESSAGE"], 0, 1))
invalid("frame-too-large", "A MESSAGE header announcing 4 MiB + 1 bytes, one over the limit. The "
        "vector holds the header only: it must be refused without waiting for the body.", s,
        "GO_AWAY_REASON_FRAME_TOO_LARGE", at + AT_LENGTH, 1)

s = server()
s.handshake()
big_open = pb.CallOpen(method="/dunlin.v1.Diagnostics/Echo",
                       metadata=[pb.MetadataEntry(key="x-padding", value=b"")])
padding = MAX_METADATA + 1 - len(big_open.SerializeToString())
while True:  # the value's length varint grows with it: settle on exactly 8 KiB + 1
    big_open.metadata[0].value = b"p" * padding
    size = len(big_open.SerializeToString())
    if size == MAX_METADATA + 1:
        break
    padding += MAX_METADATA + 1 - size
payload = big_open.SerializeToString()
at = s.raw(header(len(payload), TYPES["OPEN"], 0, 1) + payload)
invalid("open-over-metadata-limit", "An OPEN of 8 KiB + 1 bytes (a valid CallOpen with a large "
        "metadata value), over max_metadata_size; refused on its header.", s,
        "GO_AWAY_REASON_FRAME_TOO_LARGE", at + AT_LENGTH, 1)

s = server()
s.handshake()
at = s.raw(header(0, 0x0C, 0, 0))
invalid("unknown-frame-type", "A frame of type 0x0C on stream 0.", s,
        "GO_AWAY_REASON_UNKNOWN_FRAME_TYPE", at + AT_TYPE)

s = server()
s.handshake()
s.open(1)
message = echo_request().SerializeToString()
at = s.raw(header(len(message), TYPES["MESSAGE"], 0x04, 1) + message)
invalid("reserved-flag", "A MESSAGE with the reserved flag bit 0x04 set.", s,
        "GO_AWAY_REASON_BAD_FRAME", at + AT_FLAGS, 1)

s = server()
s.handshake()
at = s.raw(header(8, TYPES["PING"], END_STREAM, 0) + bytes(8))
invalid("flag-not-allowed-for-type", "A PING with END_STREAM, a flag PING does not take.", s,
        "GO_AWAY_REASON_BAD_FRAME", at + AT_FLAGS)

s = server()
s.handshake()
payload = pb.CallOpen(method="/dunlin.v1.Diagnostics/Ping").SerializeToString()
at = s.raw(header(len(payload), TYPES["OPEN"], 0, 0) + payload)
invalid("stream-frame-on-stream-0", "An OPEN on stream 0, which is the connection.", s,
        "GO_AWAY_REASON_BAD_FRAME", at + AT_STREAM)

s = server()
s.handshake()
at = s.raw(header(8, TYPES["PING"], 0, 1) + bytes(8))
invalid("connection-frame-on-stream", "A PING on stream 1: connection frames travel on stream 0.", s,
        "GO_AWAY_REASON_BAD_FRAME", at + AT_STREAM, 1)

s = server()
s.handshake()
payload = pb.CallOpen(method="/dunlin.v1.Diagnostics/Ping").SerializeToString()
at = s.raw(header(len(payload), TYPES["OPEN"], 0, 0x8000_0001) + payload)
invalid("stream-id-high-bit", "An OPEN on stream 0x80000001: the reserved high bit is set.", s,
        "GO_AWAY_REASON_BAD_FRAME", at + AT_STREAM, 0x8000_0001)

s = server()
s.handshake()
at = s.raw(header(7, TYPES["PING"], 0, 0) + bytes(7))
invalid("ping-seven-bytes", "A PING whose payload is 7 bytes instead of 8.", s,
        "GO_AWAY_REASON_BAD_FRAME", at + AT_LENGTH)

s = server()
s.handshake()
s.open(1)
at = s.raw(header(4, TYPES["WINDOW"], 0, 1) + struct.pack(">I", 0))
invalid("window-zero", "A WINDOW with an increment of 0 on an open stream. PROTOCOL.md §15.1: "
        "a WINDOW of 0 points at its payload, the increment at fault (a credit overflow points at "
        "the header).", s,
        "GO_AWAY_REASON_FLOW_CONTROL", at + AT_PAYLOAD, 1)

s = server()
s.handshake()
s.open(1)
at = s.raw(header(4, TYPES["WINDOW"], 0, 1) + struct.pack(">I", 0x7FFF_FFFF))
invalid("window-overflow", "A WINDOW of 2^31-1 on a stream whose send credit is already 1 MiB: the "
        "credit would pass 2^31-1.", s, "GO_AWAY_REASON_FLOW_CONTROL", at + AT_LENGTH, 1)

s = server()
s.handshake()
at = s.raw(header(8, TYPES["PING"], 0, 0) + bytes(3))
invalid("truncated-frame", "The client closes 3 bytes into a PING's 8-byte payload.", s,
        "GO_AWAY_REASON_TRUNCATED", at)

s = server()
s.handshake()
s.open(1)
message = echo_request().SerializeToString()
at = s.raw(header(len(message), TYPES["MESSAGE"], 0, 3) + message)
invalid("message-stream-never-opened", "A MESSAGE on stream 3 when only stream 1 was opened.", s,
        "GO_AWAY_REASON_STREAM_STATE", at + AT_STREAM, 3)

s = server()
s.handshake()
s.open(1)
at = s.raw(header(0, TYPES["CANCEL"], 0, 5))
invalid("cancel-stream-never-opened", "A CANCEL on stream 5 when only stream 1 was opened; like any "
        "stream-id rule, the offset is the stream id's.", s,
        "GO_AWAY_REASON_STREAM_STATE", at + AT_STREAM, 5)

s = server()
s.handshake()
s.open(1)
at = s.raw(header(4, TYPES["WINDOW"], 0, 5) + struct.pack(">I", 4096))
invalid("window-stream-never-opened", "A WINDOW on stream 5 when only stream 1 was opened; like any "
        "stream-id rule, the offset is the stream id's.", s,
        "GO_AWAY_REASON_STREAM_STATE", at + AT_STREAM, 5)

s = server()
s.handshake()
s.open(1, method="/dunlin.v1.Diagnostics/Sum")
s.frame("MESSAGE", 1, message=pb.SumRequest(value=1))
s.frame("HALF_CLOSE", 1)
message = pb.SumRequest(value=2).SerializeToString()
at = s.raw(header(len(message), TYPES["MESSAGE"], 0, 1) + message)
invalid("message-after-half-close", "A MESSAGE on stream 1 after the client's own HALF_CLOSE on it.", s,
        "GO_AWAY_REASON_STREAM_STATE", at, 1)

s = server()
s.handshake()
s.open(2)
payload = pb.CallOpen(method="/dunlin.v1.Diagnostics/Ping").SerializeToString()
at = s.raw(header(len(payload), TYPES["OPEN"], END_STREAM, 1) + payload)
invalid("open-id-not-increasing", "An OPEN on stream 1 after one on stream 2: ids must go up.", s,
        "GO_AWAY_REASON_STREAM_STATE", at + AT_STREAM, 1)


s = server()
s.handshake()
for stream in range(1, 129):
    s.open(stream, method="/dunlin.v1.Diagnostics/Ping", flags=END_STREAM, timeout_us=0, metadata=())
at = s.open(129, method="/dunlin.v1.Diagnostics/Ping", flags=END_STREAM, timeout_us=0, metadata=())
invalid("too-many-streams", "129 OPENs, none answered yet: the 129th is one over "
        "max_concurrent_streams (128).", s, "GO_AWAY_REASON_TOO_MANY_STREAMS", at, 129)


def compressed_vector(name, description, payload, reason, check):
    """A compressed MESSAGE on an open stream whose payload `check` confirms zlib refuses."""
    check(payload)
    s = server()
    s.handshake()
    s.open(1)
    at = s.raw(header(len(payload), TYPES["MESSAGE"], COMPRESSED | END_STREAM, 1) + payload)
    invalid(name, description, s, reason, at + AT_PAYLOAD, 1)


def zlib_refuses(payload):
    try:
        zlib.decompress(payload)
    except zlib.error:
        return
    raise AssertionError("zlib accepted " + payload.hex())


def zlib_ends_early(payload):
    inflater = zlib.decompressobj()
    inflater.decompress(payload)
    assert not inflater.eof, "the stream is complete"


def zlib_leaves_bytes(payload):
    inflater = zlib.decompressobj()
    inflater.decompress(payload)
    assert inflater.eof and inflater.unused_data, "nothing after the stream"


good = zlib.compress(echo_request(b"hello, dunlin " * 100).SerializeToString())
compressed_vector("compressed-corrupt", "A compressed MESSAGE whose deflate data is corrupt: a valid "
                  "zlib header, then a block of the reserved type 3.",
                  bytes.fromhex("789c") + b"\xff" * 16, "GO_AWAY_REASON_COMPRESSION", zlib_refuses)
compressed_vector("compressed-bad-checksum", "A compressed MESSAGE whose Adler-32 trailer does not "
                  "match the inflated bytes.", good[:-1] + bytes([good[-1] ^ 0xFF]),
                  "GO_AWAY_REASON_COMPRESSION", zlib_refuses)
compressed_vector("compressed-truncated", "A compressed MESSAGE whose zlib stream stops before its "
                  "end: the Adler-32 trailer is missing.", good[:-4],
                  "GO_AWAY_REASON_COMPRESSION", zlib_ends_early)
compressed_vector("compressed-empty", "A compressed MESSAGE with an empty payload, which is no zlib "
                  "stream at all.", b"", "GO_AWAY_REASON_COMPRESSION", zlib_ends_early)
compressed_vector("compressed-trailing-bytes", "A compressed MESSAGE with a byte after the end of its "
                  "zlib stream.", good + b"\x00", "GO_AWAY_REASON_COMPRESSION", zlib_leaves_bytes)

bomb_message = echo_request(bytes(5 << 20)).SerializeToString()
bomb = zlib.compress(bomb_message, 9)
assert len(bomb) < 16 << 10 and len(bomb_message) > MAX_FRAME
compressed_vector("compression-bomb", f"A compressed MESSAGE of {len(bomb):,} bytes that inflates to "
                  f"{len(bomb_message):,} (an EchoRequest of 5 MiB of zeros), past the 4 MiB "
                  "max_message_size: refused part-way through inflating.",
                  bomb, "GO_AWAY_REASON_MESSAGE_TOO_LARGE", lambda _: None)

s = server()
s.handshake()
at = s.raw(header(4, TYPES["OPEN"], 0, 1) + bytes.fromhex("0a052f64"))
invalid("open-undecodable", "An OPEN whose payload is not a CallOpen: field 1 claims 5 bytes, 2 follow.",
        s, "GO_AWAY_REASON_MALFORMED_MESSAGE", at + AT_PAYLOAD, 1)

s = server()
s.preface()
at = s.raw(header(3, TYPES["HELLO"], 0, 0) + bytes.fromhex("0affff"))
invalid("hello-undecodable", "A HELLO whose payload is not a Hello message.", s,
        "GO_AWAY_REASON_MALFORMED_MESSAGE", at + AT_PAYLOAD)

s = server()
s.preface()
at = s.open(1)
invalid("open-before-hello", "An OPEN right after the preface: the first frame must be HELLO.", s,
        "GO_AWAY_REASON_HANDSHAKE", at, 1)

s = server()
s.handshake()
at = s.hello()
invalid("hello-twice", "A second HELLO after the handshake.", s, "GO_AWAY_REASON_HANDSHAKE", at)

s = server()
s.handshake()
at = s.welcome()
invalid("welcome-from-client", "A WELCOME sent by the client: a server-only frame. The offset is the "
        "type byte's.", s, "GO_AWAY_REASON_BAD_FRAME", at + AT_TYPE)

s = client()
s.welcome()
at = s.hello()
invalid("hello-from-server", "A HELLO sent by the server: a client-only frame.", s,
        "GO_AWAY_REASON_BAD_FRAME", at + AT_TYPE)

s = client()
at = s.frame("PING", 0, bytes(8))
invalid("ping-before-welcome", "A PING as the server's first frame: it must be WELCOME or GOAWAY.", s,
        "GO_AWAY_REASON_HANDSHAKE", at)

s = client()
s.welcome()
at = s.welcome()
invalid("welcome-twice", "A second WELCOME.", s, "GO_AWAY_REASON_HANDSHAKE", at)

s = client()
at = s.frame("WELCOME", 0, message=welcome_message(version=2))
invalid("welcome-version-outside-range", "A WELCOME choosing version 2 when the client offered 1..1.",
        s, "GO_AWAY_REASON_UNSUPPORTED_VERSION", at)

s = client(1)
s.welcome()
at = s.frame("MESSAGE", 1, message=pb.EchoResponse(payload=b"hello"), flags=END_STREAM)
invalid("server-message-end-stream", "A server MESSAGE carrying END_STREAM: the server ends a stream "
        "with END.", s, "GO_AWAY_REASON_BAD_FRAME", at + AT_FLAGS, 1)

s = client(1)
s.welcome()
at = s.frame("END", 3, message=pb.Status())
invalid("end-stream-never-opened", "An END on stream 3 when the client opened only stream 1.", s,
        "GO_AWAY_REASON_STREAM_STATE", at + AT_STREAM, 3)


def main():
    document = {
        "about": "Golden vectors of the Dunlin wire protocol, version 1 (Protocol/PROTOCOL.md). "
                 "Written by Protocol/vectors/generate.py; its docstring describes every field.",
        "limits": {"max_frame_size": MAX_FRAME, "max_message_size": MAX_FRAME,
                   "max_metadata_size": MAX_METADATA, "initial_window": 1 << 20,
                   "max_concurrent_streams": 128},
        "vectors": VECTORS,
    }
    with open(OUTPUT, "w") as f:
        json.dump(document, f, indent=1)
        f.write("\n")
    counts = sum(1 for v in VECTORS if "frames" in v), sum(1 for v in VECTORS if "error" in v)
    print(f"wrote {len(VECTORS)} vectors ({counts[0]} valid, {counts[1]} invalid) to {OUTPUT}")


if __name__ == "__main__":
    main()
