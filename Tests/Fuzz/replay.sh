#!/usr/bin/env bash
# Replays the regression vectors in Protocol/vectors/regressions/ through the fuzz harness, with
# every oracle on. Usage: Tests/Fuzz/replay.sh [vector.txt ...]   (default: all of them)
# DUNLIN_FUZZ_BINARY names an already built harness; otherwise build.sh builds it.
# Prints PASS or FAIL per vector (with the oracle or crash that failed) and exits 1 on any FAIL.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
vectors=("$@")
[ ${#vectors[@]} -gt 0 ] || vectors=("$here"/../../Protocol/vectors/regressions/*.txt)
binary=${DUNLIN_FUZZ_BINARY:-$("$here/build.sh")} || exit 2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export SWIFT_BACKTRACE=enable=no
unset DUNLIN_FUZZ_TOLERATE
failed=0
for vector in "${vectors[@]}"; do
  name=$(basename "$vector" .txt)
  python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.argv[1]))' \
    "$(sed -n 's/^fuzz-input: //p' "$vector")" > "$scratch/$name"
  if "$binary" "$scratch/$name" > "$scratch/$name.log" 2>&1; then
    echo "PASS $name"
  else
    failed=1
    echo "FAIL $name: $(grep -m1 -E 'oracle \[|Fatal error|ERROR: AddressSanitizer|ERROR: libFuzzer' "$scratch/$name.log")"
  fi
done
exit $failed
