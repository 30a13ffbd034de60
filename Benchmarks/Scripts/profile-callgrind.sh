#!/usr/bin/env bash
# Profiles one benchmark of one stack with callgrind and prints where the instructions go.
#
#   Scripts/profile-callgrind.sh OUT_DIR -- [RPCBenchmarks options...]
#   e.g. Scripts/profile-callgrind.sh /tmp/prof-unary -- --benches unary --unary 8x1 --impls dunlin
#        PROFILE_START="open loop:" Scripts/profile-callgrind.sh /tmp/prof-open -- --benches open-loop --impls dunlin
#
# Instrumentation starts only when the measured window does (after the run's warmup), so the
# totals cover the steady state and not process start, server start or the handshake. Callgrind
# counts instructions, not time: the totals repeat run to run and do not depend on other load.
#
# valgrind 3.19 cannot read the DWARF 5 the Swift 6 toolchain emits, so the profile runs on a
# copy of the release binary with its debug sections stripped (symbols stay, lines go).
set -euo pipefail

out=${1:?usage: profile-callgrind.sh OUT_DIR -- [RPCBenchmarks options...]}
shift
[[ ${1:-} == "--" ]] && shift

here=$(cd "$(dirname "$0")/.." && pwd)
warmup=2
duration=4
mkdir -p "$out"
objcopy --strip-debug "$here/.build/release/RPCBenchmarks" "$out/RPCBenchmarks"

valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out/callgrind.out" \
    "$out/RPCBenchmarks" --warmup "$warmup" --duration "$duration" --no-harness-floor "$@" \
    >"$out/figures.jsonl" 2>"$out/stderr.log" &
pid=$!

# The harness logs one line as each run starts; its measured window opens `warmup` seconds later.
# PROFILE_START picks the run to profile (an extended regex over those lines); by default the first.
pattern=${PROFILE_START:-"\] (unary|open loop|server streaming):"}
until grep -qE "$pattern" "$out/stderr.log" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { cat "$out/stderr.log" >&2; exit 1; }
    sleep 0.1
done
sleep "$warmup"
callgrind_control -i on "$pid" >/dev/null
wait "$pid"

total=$(grep -oE "Collected : [0-9]+" "$out/stderr.log" | grep -oE "[0-9]+$")
echo "instructions in the measured window: $total"
cat "$out/figures.jsonl"
python3 - "$total" "$out/figures.jsonl" <<'PY'
import json, sys
total = int(sys.argv[1])
for line in open(sys.argv[2]):
    figure = json.loads(line)
    if "calls" in figure and figure["calls"]:
        print(f"{figure['impl']}: {total / figure['calls']:,.0f} instructions per call "
              "(client, server and harness together)")
    if "bytes_per_s" in figure and figure["bytes_per_s"]:
        received = figure["bytes_per_s"] * figure["seconds"]
        print(f"{figure['impl']}: {total / received:,.2f} instructions per payload byte")
PY

callgrind_annotate --threshold=100 "$out/callgrind.out" | swift demangle --simplified >"$out/exclusive.txt"
callgrind_annotate --inclusive=yes --threshold=100 "$out/callgrind.out" | swift demangle --simplified \
    >"$out/inclusive.txt"
echo "top functions by own instructions ($out/exclusive.txt):"
sed -n '/file:function/,$p' "$out/exclusive.txt" | sed -n '3,27p' | cut -c1-200
