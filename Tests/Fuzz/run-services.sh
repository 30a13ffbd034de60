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
# One empty request per role and method: the fuzzer grows real requests from there.
python3 - "$seeds" <<'PY'
import sys, os
for role in range(4):
    for method in range(40):
        open(os.path.join(sys.argv[1], f"seed-{role}-{method}"), "wb").write(bytes([role, method]))
PY
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:symbolize=1}
export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-/opt/swift/usr/bin/llvm-symbolizer}
exec "$binary" "$here/out/services-corpus" "$seeds" \
  -max_len=4096 -rss_limit_mb=4096 -timeout=20 \
  -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$here/findings/services-" "$@"
