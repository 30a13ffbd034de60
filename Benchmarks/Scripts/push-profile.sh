#!/bin/bash
# The push phase of SyncBenchmarks at a quick-look size, with perf attached over that phase only:
#   push-profile.sh SYNC_BENCHMARKS_BINARY TAG   (output in /tmp/pp-TAG: out.jsonl, err.txt, perf.data)
B=$1; T=$2
rm -rf /tmp/pp-$T && mkdir -p /tmp/pp-$T
$B --customers 2000 --invoices 40000 --payments 12000 --activities 40000 --small-divisor 10 --changes 10000 --runs 3 --directory /tmp/pp-$T/d > /tmp/pp-$T/out.jsonl 2> /tmp/pp-$T/err.txt &
PID=$!
while ! grep -q "replica: " /tmp/pp-$T/err.txt; do sleep 0.5; kill -0 $PID 2>/dev/null || exit 1; done
perf record -g -F 499 -p $PID -o /tmp/pp-$T/perf.data 2>/dev/null &
PP=$!
while ! grep -q '"bench":"push"' /tmp/pp-$T/out.jsonl; do sleep 0.5; kill -0 $PID 2>/dev/null || break; done
kill -INT $PP; wait $PP
uptime >> /tmp/pp-$T/err.txt
kill $PID
