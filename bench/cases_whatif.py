"""Benchmark cases: the what-if engine, its speed and its validation."""

from __future__ import annotations

import time

from bench.cases import AS_OF, _cached_demo, _read, _reset_peak, _status_mib, case  # noqa: F401


@case
def whatif() -> dict:
    """What-if: 5 strategies x 1,000,000 accounts x 2,000 draws (targets: <= 10 s and <= 2 GiB beyond the loaded data)."""
    import playbook
    from playbook.whatif import calibrate, simulate

    pf = _read(_cached_demo(1_000_000))
    t0 = time.perf_counter()
    seg = playbook.segment(pf, AS_OF)
    model = calibrate(pf, seg, AS_OF)
    prep = time.perf_counter() - t0
    strategies = ["champion", "payday_calling", "sms_first_low_risk", "early_instalments", "legal_long_term"]
    base = _status_mib("VmRSS")
    _reset_peak()
    t0 = time.perf_counter()
    res = simulate(pf, strategies, 90, 2000, 1, as_of=AS_OF, segments=seg, model=model)
    secs = time.perf_counter() - t0
    peak = _status_mib("VmHWM")
    return {"accounts": len(seg), "strategies": len(strategies), "draws": 2000, "cells": int(len(model.cells)),
            "simulate_seconds": round(secs, 2), "segment_and_calibrate_seconds_once": round(prep, 2),
            "rss_before_mib": base, "peak_rss_mib": peak, "peak_increase_mib": round(peak - base, 1),
            "collected_mean_champion": round(float(res.totals.loc["champion", "collected_mean"])),
            "meets_targets": secs <= 10 and peak - base <= 2048}


@case
def whatif_validation() -> dict:
    """Champion's simulated collections inside the generator's 90% replay interval, 20 seeds of 4,000 accounts, 30-day horizon (target: >= 90% of seeds)."""
    import numpy as np
    import playbook
    from playbook.whatif import replay_strategy as replay
    from playbook.whatif import simulate

    rows = []
    for seed in range(100, 120):
        pf = playbook.demo_portfolio(4000, seed, AS_OF)
        seg = playbook.segment(pf, AS_OF)
        mean = simulate(pf, ["champion"], 30, 2000, seed, as_of=AS_OF, segments=seg).totals.loc["champion", "collected_mean"]
        rep = replay(pf, "champion", 30, 500, seed, segments=seg)
        lo, hi = np.quantile(rep, [0.05, 0.95])
        rows.append((seed, mean, rep.mean(), lo, hi, bool(lo <= mean <= hi)))
    share = sum(r[-1] for r in rows) / len(rows)
    bias = float(np.mean([r[1] / r[2] - 1 for r in rows]))
    for r in rows:
        print(f"seed {r[0]}: simulated {r[1]:,.0f}; replay mean {r[2]:,.0f}, 90% [{r[3]:,.0f}, {r[4]:,.0f}] {'inside' if r[5] else 'OUTSIDE'}")
    return {"seeds": len(rows), "share_inside": share, "mean_relative_bias": round(bias, 4), "meets_target": share >= 0.9}
