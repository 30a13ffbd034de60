#!/usr/bin/env bash
# Regenerates Sources/DunlinWire/Generated/*.pb.swift from every Protocol/*.proto.
# Needs protoc (pip install grpcio-tools, or Debian's protobuf-compiler) and protoc-gen-swift,
# built once from swift-protobuf (about ten minutes; never in CI):
#   git clone https://github.com/apple/swift-protobuf && cd swift-protobuf && git checkout 1.39.0
#   swift build -c release --product protoc-gen-swift
# Then: PROTOC_GEN_SWIFT=/path/to/.build/release/protoc-gen-swift Protocol/generate.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../Sources/DunlinWire/Generated"
mkdir -p "$out"
plugin=${PROTOC_GEN_SWIFT:-$(command -v protoc-gen-swift || true)}
[ -x "$plugin" ] || { echo "protoc-gen-swift not found: set PROTOC_GEN_SWIFT" >&2; exit 1; }
if command -v protoc >/dev/null 2>&1; then
  protoc_cmd=(protoc)
else
  protoc_cmd=(python3 -m grpc_tools.protoc)
fi
cd "$here"
"${protoc_cmd[@]}" --plugin=protoc-gen-swift="$plugin" -I "$here" \
  --swift_out="$out" --swift_opt=Visibility=Public *.proto
echo "wrote $(ls "$out"/*.pb.swift | xargs -n1 basename | tr '\n' ' ')into $out"
