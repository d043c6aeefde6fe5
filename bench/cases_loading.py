"""Benchmark cases: loading a portfolio as a user runs it, end to end."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.cases import AS_OF, _cached_demo, case

_BIN = Path(sys.executable).parent


def _run(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident MiB of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    secs = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{err}")
    return secs, usage.ru_maxrss / 1024


@case
def segment_end_to_end() -> dict:
    """`playbook segment` on 1,000,000 accounts (~10M interactions) from Parquet: load + validate + segment + write, vs DuckDB reading the same files, computing the same features (every one of features.yaml; tests/test_bench_reference.py) and writing them (targets: time <= 1.5x, peak <= 2x DuckDB's)."""
    d = _cached_demo(1_000_000)
    with tempfile.TemporaryDirectory() as tmp:
        ours = min((_run([str(_BIN / "playbook"), "segment", str(d), "--as-of", AS_OF,
                          "--out", f"{tmp}/segments.parquet"]) for _ in range(2)), key=lambda r: r[0])
        duck = min((_run([sys.executable, "-m", "bench.duckdb_end_to_end", str(d), AS_OF, f"{tmp}/features.parquet"])
                    for _ in range(2)), key=lambda r: r[0])
    ratio_t, ratio_m = ours[0] / duck[0], ours[1] / duck[1]
    return {"accounts": 1_000_000, "ours_seconds": round(ours[0], 1), "ours_peak_mib": round(ours[1]),
            "duckdb_seconds": round(duck[0], 1), "duckdb_peak_mib": round(duck[1]),
            "ratio_time": round(ratio_t, 2), "ratio_peak": round(ratio_m, 2),
            "note": "best of 2 runs each; DuckDB reads only the columns its query uses",
            "meets_targets": ratio_t <= 1.5 and ratio_m <= 2}
