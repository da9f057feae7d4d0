"""Time the what-if run on the bundled samples and append the figures to BENCHMARKS.md.

Two figures: the service call ``whatif_files`` (after one warm-up call that loads the compiled
kernels) and the whole ``wfm whatif`` command as a fresh process (Python start, imports,
kernel loading, CSV parsing, both scenarios, output).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from wfm.services.staffing import Scenario, whatif_files

ROOT = Path(__file__).resolve().parents[1]
HISTORY = ROOT / "data" / "samples" / "history.csv"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args(argv)

    scenario = Scenario(calls_scale=1.1, aht_scale=1.05)
    result = whatif_files(HISTORY, scenario=scenario)  # warm-up: loads the cached kernels
    service = []
    for _ in range(7):
        clock = time.perf_counter()
        result = whatif_files(HISTORY, scenario=scenario)
        service.append(time.perf_counter() - clock)
    staffing_s = result.timings_s["staffing"]

    command = [sys.executable, "-m", "wfm.cli", "whatif", "--demand", str(HISTORY)]
    command += ["--calls-scale", "1.1", "--aht-scale", "1.05", "--json"]
    process = []
    for _ in range(3):
        clock = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        process.append(time.perf_counter() - clock)

    intervals = len(result.base_requirements)
    lines = [
        "",
        "## What-if on the bundled samples",
        "",
        f"`wfm whatif --demand data/samples/history.csv --calls-scale 1.1 --aht-scale 1.05`: "
        f"{intervals:,} intervals (5 projects, 16 weeks of 15-minute history), base and "
        "scenario, per project and day.",
        "",
        "| what | wall time |",
        "| --- | ---: |",
        f"| service call `whatif_files` (read CSV, staff both scenarios, aggregate), "
        f"best of 7 after a warm-up | {min(service) * 1e3:.0f} ms |",
        f"| of which the staffing (Erlang C, {2 * intervals:,} intervals) | "
        f"{staffing_s * 1e3:.0f} ms |",
        f"| the whole command as a fresh process (start, imports, kernel loading), best of 3 "
        f"| {min(process):.2f} s |",
        "",
    ]
    text = "\n".join(lines)
    with args.out.open("a", encoding="utf-8") as fh:
        fh.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
