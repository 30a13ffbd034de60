#!/usr/bin/env bash
# Builds the services harness if needed and fuzzes it for a while. Usage:
#   Tests/Fuzz/run-services.sh [SECONDS] [extra libFuzzer flags...]      (default 600 s)
# Each input is a role byte, a method byte and a request's protobuf bytes (ServicesFuzz.swift).
# The growing corpus goes to Tests/Fuzz/out/services-corpus, findings to Tests/Fuzz/findings/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
seconds=${1:-600}
shift || true
binary=$("$here/build.sh" release dunlin-services-fuzz)
mkdir -p "$here/out/services-corpus" "$here/findings"
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
# One empty request per role and method: the fuzzer grows real requests from there. And a Sync
# push (method 30) of each record of Protocol/vectors/sync-records.json, so that mutations start
# from records in the sync form (PROTOCOL.md §16.2) and reach its field checks.
python3 - "$seeds" "$here/../../Protocol/vectors/sync-records.json" <<'PY'
import json, os, sys
for role in range(4):
    for method in range(40):
        open(os.path.join(sys.argv[1], f"seed-{role}-{method}"), "wb").write(bytes([role, method]))

def varint(n):
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)

def field(number, data):  # a length-delimited protobuf field
    return varint(number << 3 | 2) + varint(len(data)) + data

PUSH = 30
for index, record in enumerate(json.load(open(sys.argv[2], encoding="utf-8"))["records"]):
    change = (field(1, record["kind"].encode()) + field(2, record["id"].encode()) + varint(3 << 3) + varint(index + 1)
              + field(5, record["fields"].encode("utf-8")))
    request = field(1, b"r" + b"0" * 32) + field(2, change)
    for role in (1, 2):
        open(os.path.join(sys.argv[1], f"seed-{role}-push-{index}"), "wb").write(bytes([role, PUSH]) + request)
PY
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:symbolize=1}
export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-/opt/swift/usr/bin/llvm-symbolizer}
exec "$binary" "$here/out/services-corpus" "$seeds" \
  -max_len=4096 -rss_limit_mb=4096 -timeout=20 \
  -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$here/findings/services-" "$@"
