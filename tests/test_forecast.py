"""Roll-rate forecast: the fit, the projection, intervals, backtest and vintages, by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from playbook import forecast as F
from playbook.schema import BUCKETS

UCI = Path(__file__).resolve().parents[2] / "shared" / "data" / "uci_credit_card" / "UCI_Credit_Card.csv"


def _hist(paths: dict[str, str], start: str = "2026-01-01", balance: float = 100.0) -> pd.DataFrame:
    code = {"C": "current", "1": "M1", "2": "M2", "3": "M3+"}
    months = pd.date_range(start, periods=max(len(p) for p in paths.values()), freq="MS")
    rows = [{"account_id": k, "month": months[i], "bucket": code[s], "balance": balance * (i + 1)}
            for k, p in paths.items() for i, s in enumerate(p) if s != "."]
    return pd.DataFrame(rows)


PATHS = {"a": "CC12", "b": "C1C1", "c": "1233", "d": "CCCC", "e": "C12C"}


def test_fit_counts_the_transitions_of_the_last_months():
    h = _hist(PATHS)
    fit = F.fit_roll(h, months=2)  # pairs ending in months 3 and 4
    want = np.zeros((4, 4))
    idx = {"C": 0, "1": 1, "2": 2, "3": 3}
    for p in PATHS.values():
        for a, b in zip(p[1:3], p[2:4]):
            want[idx[a], idx[b]] += 1
    assert np.array_equal(fit.counts.sum(axis=0), want)
    m = fit.matrix.to_numpy()
    for i in range(4):
        if want[i].sum():
            assert np.allclose(m[i], want[i] / want[i].sum())
    assert [str(x.date()) for x in fit.months] == ["2026-03-01", "2026-04-01"]
    # balance flow out of M1: a 300 -> 400, b 200 -> 300, e 200 -> 300 (balance 100 x month number)
    assert fit.flow.loc["M1"].sum() == pytest.approx((400 + 300 + 300) / (300 + 200 + 200))


def test_projection_point_is_the_matrix_power_and_the_interval_holds_it():
    h = _hist(PATHS)
    fit = F.fit_roll(h, months=3)
    start = F.book_at(h, "2026-04-01")
    assert list(start["accounts"]) == [2, 1, 1, 1]  # a, b, c, d, e in month 4: 2 1 3 C C
    fc = F.project(fit, start, horizon=3, draws=400, seed=1)
    p = fit.matrix.to_numpy().copy()
    for i in range(4):
        if np.isnan(p[i]).all():
            p[i] = np.eye(4)[i]
    n = start["accounts"].to_numpy(dtype=float)
    for step in (1, 2, 3):
        inflow = (n[:3, None] * p[:3])[:, 3].sum()
        n = n @ p
        got = fc[fc["step"] == step].set_index("bucket")
        assert np.allclose(got["accounts"].to_numpy(), n)
        assert got["accounts"].sum() == pytest.approx(5)   # a closed book keeps its accounts
        assert (got["accounts_lo"] <= got["accounts_hi"]).all()
        assert got.loc["M3+", "inflow_m3"] == pytest.approx(inflow)
        assert np.isnan(got.loc["current", "inflow_m3"])


def test_projection_is_seeded_and_checks_its_arguments():
    h = _hist(PATHS)
    fit = F.fit_roll(h)
    start = F.book_at(h, "2026-04-01")
    a = F.project(fit, start, horizon=2, draws=50, seed=3, method="months")
    b = F.project(fit, start, horizon=2, draws=50, seed=3, method="months")
    pd.testing.assert_frame_equal(a, b)
    from playbook.errors import ArgumentError

    with pytest.raises(ArgumentError, match="method"):
        F.project(fit, start, method="bayes")
    with pytest.raises(ArgumentError, match="level"):
        F.project(fit, start, level=1.5)


def test_backtest_on_a_stationary_chain_covers_and_beats_naive():
    rng = np.random.default_rng(0)
    p = np.array([[0.90, 0.10, 0, 0], [0.40, 0.30, 0.30, 0], [0.20, 0.10, 0.30, 0.40], [0.05, 0, 0.05, 0.90]])
    n_acc, n_months = 4000, 8
    state = np.zeros(n_acc, dtype=int)
    rows = []
    for m in range(n_months):
        if m:
            u = rng.random(n_acc)
            state = (u[:, None] > np.cumsum(p[state], axis=1)).sum(axis=1)
        rows.append(pd.DataFrame({"account_id": np.arange(n_acc).astype(str), "month": pd.Timestamp(2026, m + 1, 1),
                                  "bucket": np.array(BUCKETS)[state], "balance": 100.0}))
    h = pd.concat(rows, ignore_index=True)
    bt = F.backtest(h, origins=["2026-05-01", "2026-06-01", "2026-07-01"], horizon=1, months=3, draws=300, seed=0)
    cells = bt["cells"]
    assert len(cells) == 3 * 4 * 2
    # the chain is still filling its later buckets: "same as last month" is wrong, the chain is not
    acc = bt["overall"].set_index("measure").loc["accounts"]
    assert acc["ratio_to_naive"] < 0.5
    assert acc["coverage"] >= 0.6
    row = cells.iloc[0]
    assert row["error"] == pytest.approx(row["forecast"] - row["actual"])
    assert row["naive"] == F.book_at(h, row["origin"]).loc[row["bucket"], row["measure"]]


def test_backtest_needs_enough_history():
    from playbook.errors import ArgumentError

    with pytest.raises(ArgumentError):
        F.backtest(_hist({"a": "CC"}))


def test_vintage_curves_by_hand():
    h = _hist({"a": "CC1C", "b": "C12.", "c": ".C.C", "d": ".CCC"})
    v = F.vintage_curves(h, worst="M1").set_index(["vintage", "months_on_book"])
    first = pd.Timestamp("2026-01-01")
    assert v.loc[(first, 0), "accounts"] == 2 and v.loc[(first, 0), "ever_delinquent"] == 0
    assert v.loc[(first, 1), "cumulative_rate"] == pytest.approx(1 / 2)   # b in M1 by month 1
    assert v.loc[(first, 2), "cumulative_rate"] == pytest.approx(2 / 2)
    assert v.loc[(first, 3), "accounts"] == 1                             # b has no month 3
    second = pd.Timestamp("2026-02-01")
    assert v.loc[(second, 2), "accounts"] == 2 and v.loc[(second, 2), "ever_delinquent"] == 0
    worst = F.vintage_curves(h, worst="M2").set_index(["vintage", "months_on_book"])
    assert worst.loc[(first, 2), "ever_delinquent"] == 1


@pytest.mark.skipif(not UCI.is_file(), reason=f"the UCI credit card data is not at {UCI} (../shared/data)")
def test_uci_backtest_runs_and_reports_coverage_and_the_naive_ratio():
    from playbook.datasets import uci_credit_card

    h = uci_credit_card(UCI)
    bt = F.backtest(h, origins=["2005-07-01"], horizon=2, months=3, draws=200, seed=0)
    s = bt["summary"]
    assert set(s["bucket"]) == set(BUCKETS)
    assert s["coverage"].between(0, 1).all() and (s["ratio_to_naive"] > 0).all()
    cells = bt["cells"]
    assert cells.loc[cells["measure"] == "accounts"].groupby("month")["actual"].sum().eq(30000).all()
