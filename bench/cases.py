"""Benchmark cases. ``python -m bench.cases NAME`` runs one and prints ``RESULT {json}``."""

from __future__ import annotations

import json
import resource
import sys
import time
from typing import Callable

CASES: dict[str, Callable[[], dict]] = {}


def case(fn: Callable[[], dict]) -> Callable[[], dict]:
    CASES[fn.__name__] = fn
    return fn


def _peak_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


@case
def demo_generation() -> dict:
    """Demo portfolio generation, 1,000,000 accounts (target: under 120 s)."""
    import playbook

    t0 = time.perf_counter()
    pf = playbook.demo_portfolio(1_000_000, 1, "2026-11-29")
    secs = time.perf_counter() - t0
    return {"accounts": len(pf.accounts), "interactions": len(pf.interactions), "history_rows": len(pf.history),
            "seconds": round(secs, 1), "peak_mib": _peak_mib(), "target_seconds": 120,
            "meets_target": secs < 120}


if __name__ == "__main__":
    result = CASES[sys.argv[1]]()
    print("RESULT " + json.dumps(result))
