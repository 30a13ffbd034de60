#!/usr/bin/env python3
"""Each SQL statement of FILE (statements end with ";" and a newline) run RUNS times in one sqlite3
shell on DB, under `.timer on`: prints the minimum and the median user CPU per statement, in ms,
and the distinct answers (every run must answer the same).

    sqlite-statement-cpu.py DB FILE.sql [FILE.sql ...] [--runs 15]

User CPU, not wall time: on a shared machine the minimum of many runs is what compares."""
import re
import subprocess
import sys

args = sys.argv[1:]
runs = 15
if "--runs" in args:
    index = args.index("--runs")
    runs = int(args[index + 1])
    del args[index:index + 2]
if len(args) < 2:
    sys.exit(__doc__)
database, files = args[0], args[1:]
for name in files:
    statements = [s for s in open(name).read().split(";\n") if s.strip() and not s.strip().startswith(".")]
    for number, statement in enumerate(statements):
        script = ".timer on\n" + "".join(statement + ";\n" for _ in range(runs))
        out = subprocess.run(["sqlite3", database], input=script, capture_output=True, text=True, check=True).stdout
        times = sorted(float(m) for m in re.findall(r"user ([0-9.]+)", out))
        answers = sorted({line for line in out.splitlines() if not line.startswith("Run Time")})
        print(f"{name} #{number}: min {times[0] * 1000:.1f} ms, median {times[len(times) // 2] * 1000:.1f} ms user CPU; answers {answers}")
