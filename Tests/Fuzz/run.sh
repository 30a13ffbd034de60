#!/usr/bin/env bash
# Builds the harness if needed and fuzzes for a while. Usage:
#   Tests/Fuzz/run.sh [SECONDS] [extra libFuzzer flags...]      (default 600 s)
# The growing corpus goes to Tests/Fuzz/out/corpus (not committed; the seeds in corpus/ are),
# crashes to Tests/Fuzz/findings/. Set DUNLIN_FUZZ_TOLERATE=name,name to look past oracles whose
# bugs are already reported (see README.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
seconds=${1:-600}
shift || true
binary=$("$here/build.sh")
mkdir -p "$here/out/corpus" "$here/findings"
# The Swift runtime's own crash handler fights AddressSanitizer's; let libFuzzer and ASan report.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:symbolize=1}
export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-/opt/swift/usr/bin/llvm-symbolizer}
exec "$binary" "$here/out/corpus" "$here/corpus" \
  -dict="$here/dunlin.dict" \
  -max_len=16384 -rss_limit_mb=2048 -malloc_limit_mb=256 -timeout=10 \
  -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$here/findings/" "$@"
