#!/usr/bin/env bash
# Line coverage of DunlinWire reached by a corpus: builds the harness with coverage mapping (no
# ASan) into .build-coverage/, runs every input once, and prints llvm-cov's report for
# Sources/DunlinWire. Usage: Tests/Fuzz/coverage.sh [corpus dirs...]   (default out/corpus corpus)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
export PATH=/opt/swift/usr/bin:$PATH
dirs=("$@")
[ ${#dirs[@]} -gt 0 ] || dirs=(out/corpus corpus)
# --sanitize=fuzzer also stops SwiftPM from renaming main (libFuzzer supplies it).
flags=(-c release --scratch-path .build-coverage --sanitize=fuzzer
       -Xswiftc -profile-generate -Xswiftc -profile-coverage-mapping)
swift build "${flags[@]}" --product dunlin-wire-fuzz >&2
binary="$(swift build "${flags[@]}" --show-bin-path)/dunlin-wire-fuzz"
profiles=$(mktemp -d)
trap 'rm -rf "$profiles"' EXIT
SWIFT_BACKTRACE=enable=no DUNLIN_FUZZ_TOLERATE=${DUNLIN_FUZZ_TOLERATE:-decompress-truncated,window-increment} \
  LLVM_PROFILE_FILE="$profiles/%p.profraw" "$binary" -runs=0 "${dirs[@]}" >&2
llvm-profdata merge -sparse "$profiles"/*.profraw -o "$profiles/merged.profdata"
sources=$(cd ../.. && pwd)/Sources/DunlinWire
llvm-cov report "$binary" -instr-profile="$profiles/merged.profdata" "$sources"
