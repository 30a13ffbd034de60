#!/usr/bin/env bash
# Builds the libFuzzer harness with AddressSanitizer into .build/ of this package and prints the
# binary's path. Usage: Tests/Fuzz/build.sh [release|debug]   (default release)
set -euo pipefail
cd "$(dirname "$0")"
export PATH=/opt/swift/usr/bin:$PATH
config=${1:-release}
flags=(-c "$config" --sanitize=fuzzer --sanitize=address -Xswiftc -g)
swift build "${flags[@]}" --product dunlin-wire-fuzz >&2
echo "$(swift build "${flags[@]}" --show-bin-path)/dunlin-wire-fuzz"
