"""Benchmark cases: the what-if engine, its speed and its validation."""

from __future__ import annotations

import os
import time

from bench.cases import AS_OF, _cached_demo, _read, _reset_peak, _status_mib, case  # noqa: F401


def _million() -> tuple:
    """The cached 1,000,000-account demo, its segments and calibrated model, and the seconds those took."""
    import playbook
    from playbook.whatif import calibrate

    pf = _read(_cached_demo(1_000_000))
    t0 = time.perf_counter()
    seg = playbook.segment(pf, AS_OF)
    model = calibrate(pf, seg, AS_OF)
    return pf, seg, model, time.perf_counter() - t0


@case
def whatif() -> dict:
    """What-if: 5 strategies x 1,000,000 accounts x 2,000 draws (targets: <= 10 s and <= 2 GiB beyond the loaded data)."""
    from playbook.whatif import simulate

    pf, seg, model, prep = _million()
    strategies = ["champion", "payday_calling", "sms_first_low_risk", "early_instalments", "legal_long_term"]
    base = _status_mib("VmRSS")
    _reset_peak()
    t0, c0 = time.perf_counter(), time.process_time()
    res = simulate(pf, strategies, 90, 2000, 1, as_of=AS_OF, segments=seg, model=model)
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = _status_mib("VmHWM")
    return {"accounts": len(seg), "strategies": len(strategies), "draws": 2000, "cells": int(len(model.cells)),
            "simulate_seconds": round(secs, 2), "simulate_cpu_seconds": round(cpu, 2),
            "load_average_1min": os.getloadavg()[0], "segment_and_calibrate_seconds_once": round(prep, 2),
            "rss_before_mib": base, "peak_rss_mib": peak, "peak_increase_mib": round(peak - base, 1),
            "collected_mean_champion": round(float(res.totals.loc["champion", "collected_mean"])),
            "meets_targets": secs <= 10 and peak - base <= 2048}


def _coverage_rows(seeds: range, n: int, horizon: int, draws: int, *, holdout_days: int = 0) -> list[dict]:
    """Per seed: our simulated draws of the champion against the generator's own replay.

    ``holdout_days`` > 0 calibrates on the data as of that many days before the snapshot
    (segments and outcomes of the earlier window only) and predicts the next window.
    """
    import numpy as np
    import pandas as pd
    import playbook
    from playbook.whatif import calibrate, simulate
    from playbook.whatif import replay_strategy as replay

    rows = []
    for seed in seeds:
        pf = playbook.demo_portfolio(n, seed, AS_OF)
        as_of = (pd.Timestamp(AS_OF) - pd.Timedelta(days=holdout_days)).strftime("%Y-%m-%d")
        seg = playbook.segment(pf, as_of)
        model = calibrate(pf, seg, as_of)
        sim = simulate(pf, ["champion"], horizon, draws, seed, as_of=as_of, segments=seg, model=model)
        d = sim.per_draw["champion"]["collected"]
        rep = replay(pf, "champion", horizon, 201, 10_000 + seed, segments=seg)
        real, ref = rep[0], rep[1:]  # one realised outcome; the other 200 runs give the replay mean
        rows.append({"seed": seed, "sim_mean": float(d.mean()), "replay_mean": float(ref.mean()), "realised": float(real),
                     "pit": float((d < real).mean()),
                     "in50": bool(np.quantile(d, 0.25) <= real <= np.quantile(d, 0.75)),
                     "in90": bool(np.quantile(d, 0.05) <= real <= np.quantile(d, 0.95))})
    return rows


def _coverage_summary(rows: list[dict], label: str) -> dict:
    """Coverage of our 50% and 90% intervals, mean bias, sign test and a PIT histogram (printed)."""
    import numpy as np
    from scipy.stats import binomtest

    pit = np.array([r["pit"] for r in rows])
    bias = np.array([r["sim_mean"] / r["replay_mean"] - 1 for r in rows])
    below = int((bias < 0).sum())
    counts, _ = np.histogram(pit, bins=10, range=(0, 1))
    print(f"{label}: PIT histogram (share of our draws below the realised outcome; flat when calibrated)")
    for k, c in enumerate(counts):
        print(f"  {k / 10:.1f}-{(k + 1) / 10:.1f} {c:4d} {'#' * int(c)}")
    c50 = float(np.mean([r["in50"] for r in rows]))
    c90 = float(np.mean([r["in90"] for r in rows]))
    return {"seeds": len(rows), "coverage_50": round(c50, 3), "coverage_90": round(c90, 3),
            "mean_relative_bias": round(float(bias.mean()), 4),
            "bias_95ci": [round(float(bias.mean() - 1.96 * bias.std(ddof=1) / np.sqrt(len(bias))), 4),
                          round(float(bias.mean() + 1.96 * bias.std(ddof=1) / np.sqrt(len(bias))), 4)],
            "seeds_below_replay_mean": below,
            "sign_test_p": round(float(binomtest(below, len(rows), 0.5).pvalue), 4),
            "pit_histogram": counts.tolist(),
            "meets_target": abs(c50 - 0.5) <= 0.05 and abs(c90 - 0.9) <= 0.05}


@case
def whatif_validation() -> dict:
    """Champion: coverage of our own 50%/90% intervals against the generator's realised replay, 200 seeds of 2,000 accounts, 30 days; in-sample and out of sample (calibrated 30 days earlier); bias, sign test, PIT (target: coverage within 5 points of nominal)."""
    seeds = range(100, 300)
    ins = _coverage_summary(_coverage_rows(seeds, 2000, 30, 1000), "in-sample")
    oos = _coverage_summary(_coverage_rows(seeds, 2000, 30, 1000, holdout_days=30), "out of sample")
    out = {f"in_sample_{k}": v for k, v in ins.items()}
    out.update({f"out_of_sample_{k}": v for k, v in oos.items()})
    out["meets_target"] = ins["meets_target"] and oos["meets_target"]
    return out


@case
def optimise() -> dict:
    """Optimiser: 1,000,000 accounts, every segment cell x the admissible menu, MILP with team hours, frontier and paired uplift (target: <= 30 s after segmentation and calibration)."""
    from playbook.optimise import optimise as run

    pf, seg, model, prep = _million()
    base = _status_mib("VmRSS")
    _reset_peak()
    t0, c0 = time.perf_counter(), time.process_time()
    res = run(pf, as_of=AS_OF, segments=seg, model=model, draws=500, uplift_draws=2000, capacity_scale=20.0)
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = _status_mib("VmHWM")
    binding = res.constraints[res.constraints["binding"]]
    return {"accounts": len(seg), "cells": int(len(res.assignment)), "treatments": len(res.menu),
            "binaries": int(len(res.assignment) * len(res.menu)), "frontier_points": int(len(res.frontier)),
            "optimise_seconds": round(secs, 2), "optimise_cpu_seconds": round(cpu, 2),
            "segment_and_calibrate_seconds_once": round(prep, 2), "load_average_1min": os.getloadavg()[0],
            "peak_increase_mib": round(peak - base, 1), "status": res.status,
            "net_uplift_mean": round(res.uplift["net"]["mean"]),
            "net_uplift_90": [round(res.uplift["net"]["p05"]), round(res.uplift["net"]["p95"])],
            "binding": {r["constraint"]: round(r["shadow_price"], 2) for _, r in binding.iterrows()},
            "meets_target": secs <= 30,
            "note": "capacity_scale 20: teams.yaml hours cover the champion on about 30,000 accounts (1,580 h on 3,000)"}


@case
def whatif_uci_backtest() -> dict:
    """Payment and roll model on the UCI cards (30,000 real accounts): calibrated on April-July 2005, August and September predicted; coverage of the 50%/90% intervals, bias, ratio to carrying last month forward (no target: a measurement)."""
    from pathlib import Path

    from playbook.datasets import uci_portfolio
    from playbook.formatting import fmt_int, render_table
    from playbook.whatif import backtest

    path = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "uci_credit_card" / "UCI_Credit_Card.csv"
    if not path.is_file():
        print(f"skipped: {path} is not there")
        return {"skipped": True}
    out, s = backtest(uci_portfolio(path).history, test_months=2, draws=2000, seed=0)
    print(render_table(["month", "measure", "bucket", "actual", "predicted", "90% interval", "naive", "in 50%", "in 90%"],
                       [[r.month, r.measure, r.bucket, fmt_int(r.actual), fmt_int(r.mean),
                         f"{fmt_int(r.p05)} – {fmt_int(r.p95)}", fmt_int(r.naive), "yes" if r.in50 else "no",
                         "yes" if r.in90 else "no"] for r in out.itertuples()]))
    return {"calibration_months": s["calibration_months"], "test_months": s["test_months"], "checks": s["rows"],
            "coverage_50": round(s["coverage_50"], 3), "coverage_90": round(s["coverage_90"], 3),
            "total_collected_relative_bias": round(s["total_collected_relative_bias"], 4),
            "collected_ratio_to_naive": round(s["collected_ratio_to_naive"], 3),
            "accounts_ratio_to_naive": round(s["accounts_ratio_to_naive"], 3),
            "month_sd_log_collected": round(s["month_sd_log_collected"], 4)}
