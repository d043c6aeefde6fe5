"""Benchmark case: the roll-rate forecast backtested on the UCI credit card data.

The UCI data has six monthly repayment statuses (April-September 2005). The forecast is
fitted on the early months, forecasts the last one or two, and is compared with what
happened and with the naive "same as last month" forecast. Skips with a message when the
data (``../shared/data/uci_credit_card``) is absent.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from bench.cases import case

UCI = Path(os.environ.get("PLAYBOOK_UCI", Path(__file__).resolve().parents[2] / "shared" / "data" / "uci_credit_card"))


@case
def uci_forecast_backtest() -> dict:
    """Roll-rate forecast on UCI: fit on April-July, forecast August and September; coverage, error per bucket, ratio to naive."""
    from playbook.datasets import uci_credit_card
    from playbook.forecast import backtest

    csv = UCI / "UCI_Credit_Card.csv" if UCI.is_dir() else UCI
    if not csv.is_file():
        print(f"skipped: the UCI credit card data is not at {csv} (set PLAYBOOK_UCI to its path)")
        return {"skipped": True}
    h = uci_credit_card(csv)
    out: dict = {"accounts": int(h["account_id"].nunique()), "months": sorted({f"{m:%Y-%m}" for m in h["month"]})}
    for method in ("dirichlet", "months"):
        t0 = time.perf_counter()
        # fitted on the transitions up to July (May, June, July), forecasting August and September
        last_two = backtest(h, origins=["2005-07-01"], horizon=2, months=3, draws=1000, method=method, seed=0)
        # and every origin with at least one month of transitions before it, one month ahead
        rolling = backtest(h, horizon=1, months=6, draws=1000, method=method, seed=0)
        secs = time.perf_counter() - t0
        print(f"-- method {method}: fitted on the April-July statuses, forecast 2005-08 and 2005-09 (90% intervals)")
        print(f"{'measure':<9}{'bucket':<9}{'MAE':>14}{'naive MAE':>14}{'ratio':>8}{'MAPE':>8}{'coverage':>10}")
        for r in last_two["summary"].itertuples(index=False):
            print(f"{r.measure:<9}{r.bucket:<9}{r.mae:>14,.0f}{r.naive_mae:>14,.0f}{r.ratio_to_naive:>8.2f}"
                  f"{r.mape:>8.1%}{r.coverage:>10.0%}")
        for name, bt in (("last_two", last_two), ("rolling_1m", rolling)):
            ov = bt["overall"].set_index("measure")
            for measure in ("accounts", "balance"):
                o = ov.loc[measure]
                out[f"{method}_{name}_{measure}_ratio_to_naive"] = round(float(o["ratio_to_naive"]), 3)
                out[f"{method}_{name}_{measure}_coverage"] = round(float(o["coverage"]), 3)
                out[f"{method}_{name}_{measure}_mape"] = round(float(o["mape"]), 3)
            out[f"{method}_{name}_cells"] = int(ov.loc["accounts", "cells"])
        cells = last_two["cells"]
        acc = cells[cells["measure"] == "accounts"]
        for r in acc.itertuples(index=False):
            out[f"{method}_{r.month:%Y-%m}_{r.bucket}_actual_forecast_lo_hi"] = [
                int(r.actual), round(r.forecast), round(r.lo), round(r.hi)]
        out[f"{method}_seconds"] = round(secs, 2)
    return out
