#!/usr/bin/env bash
# Builds a libFuzzer harness with AddressSanitizer into .build/ of this package and prints the
# binary's path. Usage: Tests/Fuzz/build.sh [release|debug] [PRODUCT]
#   (default release, dunlin-wire-fuzz; the services harness is dunlin-services-fuzz)
set -euo pipefail
cd "$(dirname "$0")"
export PATH=/opt/swift/usr/bin:$PATH
config=${1:-release}
# swiftc keeps only the last -sanitize= it is given, and SwiftPM passes --sanitize values as separate
# flags, so `--sanitize=fuzzer --sanitize=address` alone compiles Swift code with ASan but without
# libFuzzer's coverage instrumentation. The combined -Xswiftc flag comes last and wins.
flags=(-c "$config" --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address -Xswiftc -g)
product=${2:-dunlin-wire-fuzz}
swift build "${flags[@]}" --product "$product" >&2
echo "$(swift build "${flags[@]}" --show-bin-path)/$product"
