#!/usr/bin/env bash
# `make bench`: wfm.staffing against its named peer pyworkforce 0.5.1, in a separate venv.
#
# pyworkforce (and what it pulls: ortools, joblib, ...) lives only in .venv-bench; it is never a
# runtime dependency of wfm and never goes into .venv. Idempotent: the venv is built once and
# reinstalled only when pyproject.toml is newer than its stamp.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV=.venv-bench
STAMP="$VENV/.installed"

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e '.[bench]' 'mpmath>=1.3'
    touch "$STAMP"
fi

"$VENV/bin/python" bench/bench_staffing.py --out BENCHMARKS.md
"$VENV/bin/python" bench/bench_whatif.py --out BENCHMARKS.md
"$VENV/bin/python" bench/bench_forecast.py --out BENCHMARKS.md
"$VENV/bin/python" bench/bench_sim.py --out BENCHMARKS.md
"$VENV/bin/python" bench/bench_schedule.py --out BENCHMARKS.md
# a what-if sweep of 50 scenarios, serially and on a LocalCluster of 2 worker processes
"$VENV/bin/python" bench/bench_sweep.py --out BENCHMARKS.md
# the API under 100 concurrent readers on loopback (starts and stops its own server)
"$VENV/bin/python" bench/bench_api.py --out BENCHMARKS.md
