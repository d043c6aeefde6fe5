"""Roll-rate (Markov) forecast of delinquent counts and balances, vintages, and a backtest.

:func:`fit_roll` estimates the month-to-month transition matrix of the delinquency
buckets from the last ``months`` months of history; :func:`project` moves today's counts
and balances through it for 1-6 months, with intervals from resampling (Dirichlet on the
transition rows, optionally over resampled months); :func:`backtest` fits on the early
months of a history, forecasts the later ones and compares with what happened, against
the naive "same as last month" forecast; :func:`vintage_curves` gives cumulative
delinquency by the month an account first appears in the history.

Only the accounts in the history at the start are projected (a closed book: new
placements are not forecast), and an account leaving the history (paid off, sold) leaves
no transition, so the matrix describes the accounts that stay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from ._checks import check_choice, check_positive_int
from .errors import ArgumentError
from .metrics import transitions
from .schema import BUCKETS

__all__ = ["RollFit", "fit_roll", "project", "backtest", "vintage_curves", "book_at", "METHODS"]

METHODS = ("dirichlet", "months")
_K = len(BUCKETS)


@dataclass
class RollFit:
    """Transition counts and balance flows fitted on some months of history.

    Attributes
    ----------
    counts : ndarray, shape (months, 4, 4)
        Account transitions per later month, from-bucket x to-bucket.
    from_balance, to_balance : ndarray, shape (months, 4, 4)
        Balance at the start and at the end of those transitions.
    months : list of Timestamp
        The later month of each pair of months used.
    """

    counts: np.ndarray
    from_balance: np.ndarray
    to_balance: np.ndarray
    months: list = field(default_factory=list)

    @property
    def matrix(self) -> pd.DataFrame:
        """The count transition matrix (row shares over all fitted months); NaN rows unobserved."""
        c = self.counts.sum(axis=0)
        tot = c.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            m = np.where(tot > 0, c / np.where(tot > 0, tot, 1), np.nan)
        return pd.DataFrame(m, index=pd.Index(BUCKETS, name="from"), columns=pd.Index(BUCKETS, name="to"))

    @property
    def flow(self) -> pd.DataFrame:
        """Balance flow: balance arriving in each to-bucket per unit of balance in the from-bucket.

        ``flow[i, j] = sum(to_balance of i->j) / sum(from_balance of i)``; rows sum to less
        than 1 when balances are paid down.
        """
        fb = self.from_balance.sum(axis=0).sum(axis=1, keepdims=True)
        tb = self.to_balance.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            m = np.where(fb > 0, tb / np.where(fb > 0, fb, 1), np.nan)
        return pd.DataFrame(m, index=pd.Index(BUCKETS, name="from"), columns=pd.Index(BUCKETS, name="to"))


def fit_roll(history: pd.DataFrame, *, end: str | pd.Timestamp | None = None, months: int = 6) -> RollFit:
    """Fit the bucket transitions of the last ``months`` month pairs ending with ``end``.

    Parameters
    ----------
    history : DataFrame
        The monthly history (``account_id``, ``month``, ``bucket``, ``balance``).
    end : date-like, optional
        The last month whose transitions (from the month before) are used; default the
        last month of the history.
    months : int
        How many month pairs (K) to use.

    Returns
    -------
    RollFit

    Notes
    -----
    ``P[i, j] = accounts in i at t-1 and in j at t / accounts in i at t-1`` summed over
    the K months (only consecutive months pair up; see
    :func:`playbook.metrics.transitions`).
    """
    months = check_positive_int("months", months)
    t = transitions(history)
    if end is not None:
        t = t[t["month"] <= pd.Timestamp(end).to_period("M").to_timestamp()]
    all_months = sorted(pd.unique(t["month"]))[-months:]
    t = t[t["month"].isin(all_months)]
    mi = pd.Index(all_months)
    m = mi.get_indexer(t["month"])
    f = t["from_bucket"].cat.codes.to_numpy()
    to = t["to_bucket"].cat.codes.to_numpy()
    shape = (len(mi), _K, _K)
    idx = (m * _K + f) * _K + to
    size = int(np.prod(shape))
    counts = np.bincount(idx, minlength=size).reshape(shape).astype("float64")
    fb = np.bincount(idx, weights=t["from_balance"].to_numpy(dtype="float64"), minlength=size).reshape(shape)
    tb = np.bincount(idx, weights=t["to_balance"].to_numpy(dtype="float64"), minlength=size).reshape(shape)
    return RollFit(counts, fb, tb, [pd.Timestamp(x) for x in mi])


def book_at(history: pd.DataFrame, month: str | pd.Timestamp) -> pd.DataFrame:
    """Accounts and balance per bucket in one history month (the starting book).

    Returns a frame indexed by bucket with ``accounts`` and ``balance``.
    """
    mo = pd.Timestamp(month).to_period("M").to_timestamp()
    h = history[history["month"] == mo]
    g = h.groupby(h["bucket"].astype(str)).agg(accounts=("account_id", "size"), balance=("balance", "sum"))
    return g.reindex(list(BUCKETS)).fillna(0.0).rename_axis("bucket")


def _draw_rows(counts: np.ndarray, rng: np.random.Generator, prior: float) -> np.ndarray:
    """One Dirichlet draw per row of a (4, 4) count matrix; unobserved rows stay put."""
    out = np.empty((_K, _K))
    for i in range(_K):
        if counts[i].sum() <= 0:
            out[i] = np.eye(_K)[i]
        else:
            out[i] = rng.dirichlet(counts[i] + prior)
    return out


def _growth(fb: np.ndarray, tb: np.ndarray, shrink: float, mean_from: float) -> np.ndarray:
    """Balance growth per (from, to) cell, with ``shrink`` pseudo-transitions of average
    balance growing as the whole book does: a cell seen a few times does not compound its
    noise."""
    w = shrink * mean_from
    overall = tb.sum() / fb.sum() if fb.sum() > 0 else 1.0
    return (tb + w * overall) / (fb + w) if w > 0 else np.where(fb > 0, tb / np.where(fb > 0, fb, 1), 1.0)


def project(fit: RollFit, start: pd.DataFrame, *, horizon: int = 6, draws: int = 1000, level: float = 0.9,
            method: str = "dirichlet", seed: int = 0, prior: float = 0.5, shrink: float = 30) -> pd.DataFrame:
    """Project accounts and balances per bucket ``horizon`` months ahead, with intervals.

    Parameters
    ----------
    fit : RollFit
        From :func:`fit_roll`.
    start : DataFrame
        The starting book per bucket (``accounts``, ``balance``), e.g. :func:`book_at`.
    horizon : int
        Months ahead (1-6 is what the fit supports; more is allowed).
    draws : int
        Resampled transition matrices for the intervals.
    level : float
        The interval's coverage, e.g. 0.9 for the 5th-95th percentile.
    method : {"dirichlet", "months"}
        ``dirichlet``: each row of the pooled count matrix drawn from Dirichlet(counts +
        ``prior``), then the accounts moved by a multinomial draw (parameter and process
        uncertainty). ``months``: the K fitted months resampled with replacement first (so
        month-to-month drift widens the interval), then as ``dirichlet``.
    seed : int
        Seed of the random generator.
    prior : float
        Dirichlet prior added to every count.
    shrink : float
        Pseudo-transitions (of the average balance, growing as the whole book does) added
        to each cell when estimating how balances grow or shrink per transition; 0 uses the
        raw ratios.

    Returns
    -------
    DataFrame
        One row per (step, bucket): ``step`` (months ahead), ``bucket``, ``accounts``,
        ``accounts_lo``, ``accounts_hi``, ``balance``, ``balance_lo``, ``balance_hi``,
        ``inflow_m3`` (accounts arriving in M3+ from a better bucket that month),
        ``inflow_m3_balance`` and their intervals (on the M3+ row; NaN elsewhere).

    Notes
    -----
    Point forecast: ``n_{t+1} = n_t P`` (accounts) and ``b_{t+1} = b_t F`` (balances:
    ``F[i, j]`` = share of bucket i's balance moving to j x that cell's balance growth,
    shrunk toward the whole book's growth by ``shrink``; with ``shrink=0`` F is
    :attr:`RollFit.flow`). Intervals are the ``(1 - level) / 2`` and
    ``(1 + level) / 2`` quantiles over the draws; the balance draws scale each drawn count
    row by the fitted balance per transition.
    """
    horizon = check_positive_int("horizon", horizon)
    draws = check_positive_int("draws", draws)
    check_choice("method", method, METHODS)
    if not 0 < level < 1:
        raise ArgumentError("level", level, "a number between 0 and 1, e.g. 0.9")
    if fit.counts.sum() == 0:
        raise ArgumentError("fit", "no transitions", "a fit with at least one month of transitions")
    n0 = start.reindex(list(BUCKETS))["accounts"].fillna(0).to_numpy(dtype="float64")
    b0 = start.reindex(list(BUCKETS))["balance"].fillna(0).to_numpy(dtype="float64")
    pooled = fit.counts.sum(axis=0)
    p_hat = fit.matrix.fillna(0).to_numpy().copy()
    for i in range(_K):
        if pooled[i].sum() <= 0:
            p_hat[i] = np.eye(_K)[i]
    # balance per transition: what one unit of from-balance becomes, per (i, j)
    fb, tb = fit.from_balance.sum(axis=0), fit.to_balance.sum(axis=0)
    mean_from = fb.sum() / max(pooled.sum(), 1)
    growth = _growth(fb, tb, shrink, mean_from)
    with np.errstate(invalid="ignore", divide="ignore"):
        bal_share = np.where(fb.sum(axis=1, keepdims=True) > 0, fb / np.where(fb.sum(axis=1, keepdims=True) > 0,
                                                                                fb.sum(axis=1, keepdims=True), 1), 0)
    f_hat = bal_share * growth
    for i in range(_K):
        if fb[i].sum() <= 0:
            f_hat[i] = np.eye(_K)[i]
    rng = np.random.default_rng(seed)
    sims_n = np.empty((draws, horizon, _K))
    sims_b = np.empty((draws, horizon, _K))
    inflow_n = np.empty((draws, horizon))
    inflow_b = np.empty((draws, horizon))
    k_months = fit.counts.shape[0]
    for d in range(draws):
        if method == "months":
            pick = rng.integers(0, k_months, k_months)
            c = fit.counts[pick].sum(axis=0)
            fbd, tbd = fit.from_balance[pick].sum(axis=0), fit.to_balance[pick].sum(axis=0)
        else:
            c, fbd, tbd = pooled, fb, tb
        p = _draw_rows(c, rng, prior)
        # balance shares drawn with the row's account count as concentration
        g = _growth(fbd, tbd, shrink, mean_from)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(fbd.sum(axis=1, keepdims=True) > 0,
                             fbd / np.where(fbd.sum(axis=1, keepdims=True) > 0, fbd.sum(axis=1, keepdims=True), 1), 0)
        fdraw = np.empty((_K, _K))
        for i in range(_K):
            if fbd[i].sum() <= 0:
                fdraw[i] = np.eye(_K)[i]
            else:
                fdraw[i] = rng.dirichlet(share[i] * max(c[i].sum(), 1) + prior / _K) * g[i]
        n, b = n0.round().astype("int64"), b0.copy()
        for s in range(horizon):
            moved = np.zeros((_K, _K))
            for i in range(_K):
                if n[i] > 0:
                    moved[i] = rng.multinomial(n[i], p[i])
            inflow_n[d, s] = moved[:-1, -1].sum()
            flows = b[:, None] * fdraw
            inflow_b[d, s] = flows[:-1, -1].sum()
            n = moved.sum(axis=0).astype("int64")
            b = flows.sum(axis=0)
            sims_n[d, s], sims_b[d, s] = n, b
    lo_q, hi_q = (1 - level) / 2, (1 + level) / 2
    rows = []
    n, b = n0.copy(), b0.copy()
    for s in range(horizon):
        inflow_point = (n[:-1, None] * p_hat[:-1])[:, -1].sum()
        inflow_bal = (b[:-1, None] * f_hat[:-1])[:, -1].sum()
        n, b = n @ p_hat, b @ f_hat
        for k, bucket in enumerate(BUCKETS):
            last = k == _K - 1
            rows.append({
                "step": s + 1, "bucket": bucket, "accounts": n[k],
                "accounts_lo": np.quantile(sims_n[:, s, k], lo_q), "accounts_hi": np.quantile(sims_n[:, s, k], hi_q),
                "balance": b[k], "balance_lo": np.quantile(sims_b[:, s, k], lo_q),
                "balance_hi": np.quantile(sims_b[:, s, k], hi_q),
                "inflow_m3": inflow_point if last else np.nan,
                "inflow_m3_lo": np.quantile(inflow_n[:, s], lo_q) if last else np.nan,
                "inflow_m3_hi": np.quantile(inflow_n[:, s], hi_q) if last else np.nan,
                "inflow_m3_balance": inflow_bal if last else np.nan,
                "inflow_m3_balance_lo": np.quantile(inflow_b[:, s], lo_q) if last else np.nan,
                "inflow_m3_balance_hi": np.quantile(inflow_b[:, s], hi_q) if last else np.nan})
    return pd.DataFrame(rows)


def backtest(history: pd.DataFrame, *, origins: Sequence[str | pd.Timestamp] | None = None, horizon: int = 2,
             months: int = 6, draws: int = 1000, level: float = 0.9, method: str = "dirichlet",
             seed: int = 0) -> dict[str, pd.DataFrame]:
    """Fit on the months up to each origin, forecast the next ``horizon`` months, compare.

    Parameters
    ----------
    history : DataFrame
        The monthly history.
    origins : sequence of date-like, optional
        The last month known at each forecast; default every month that leaves at least
        one month of transitions before it and one month to forecast after it.
    horizon : int
        Months forecast from each origin (cut at the end of the history).
    months, draws, level, method, seed
        As in :func:`fit_roll` and :func:`project`.

    Returns
    -------
    dict
        ``cells``: one row per (origin, step, bucket, measure) with ``actual``,
        ``forecast``, ``lo``, ``hi``, ``naive`` (the origin month's value: "same as last
        month"), ``covered`` (actual inside the interval), ``error`` and ``naive_error``
        (forecast minus actual). ``summary``: per measure and bucket, the mean absolute
        error of the forecast and of the naive forecast, their ratio
        (``mae / naive_mae``; below 1 beats naive), the mean absolute percentage error and
        the interval coverage. ``overall``: the same per measure over all buckets.

    Notes
    -----
    The book forecast from an origin is the accounts present in the origin month;
    "actual" is those same accounts' buckets and balances ``step`` months later (accounts
    that left the history are not counted), so forecast and actual cover one population.
    """
    horizon = check_positive_int("horizon", horizon)
    h = history[["account_id", "month", "bucket", "balance"]]
    all_months = sorted(pd.unique(h["month"]))
    if origins is None:
        origins = all_months[1:-1]
    rows = []
    for origin in origins:
        o = pd.Timestamp(origin).to_period("M").to_timestamp()
        if o not in all_months:
            raise ArgumentError("origins", str(origin), "months of the history")
        fit = fit_roll(h[h["month"] <= o], months=months)
        if fit.counts.sum() == 0:
            continue
        start = book_at(h, o)
        later = [m for m in all_months if m > o][:horizon]
        if not later:
            continue
        fc = project(fit, start, horizon=len(later), draws=draws, level=level, method=method, seed=seed)
        cohort = set(h.loc[h["month"] == o, "account_id"])
        for s, m in enumerate(later, start=1):
            hm = h[(h["month"] == m) & h["account_id"].isin(cohort)]
            actual = hm.groupby(hm["bucket"].astype(str)).agg(accounts=("account_id", "size"), balance=("balance", "sum"))
            actual = actual.reindex(list(BUCKETS)).fillna(0.0)
            f = fc[fc["step"] == s].set_index("bucket")
            for measure in ("accounts", "balance"):
                for bucket in BUCKETS:
                    a, pt = float(actual.loc[bucket, measure]), float(f.loc[bucket, measure])
                    lo, hi = float(f.loc[bucket, f"{measure}_lo"]), float(f.loc[bucket, f"{measure}_hi"])
                    naive = float(start.loc[bucket, measure])
                    rows.append({"origin": o, "month": pd.Timestamp(m), "step": s, "bucket": bucket, "measure": measure,
                                 "actual": a, "forecast": pt, "lo": lo, "hi": hi, "naive": naive,
                                 "covered": lo <= a <= hi, "error": pt - a, "naive_error": naive - a})
    cells = pd.DataFrame(rows)
    if cells.empty:
        raise ArgumentError("history", "too short", "at least three months (one to fit, one origin, one to forecast)")

    def summarise(g: pd.DataFrame) -> pd.Series:
        mae, nmae = g["error"].abs().mean(), g["naive_error"].abs().mean()
        act = g["actual"].abs()
        mape = (g["error"].abs() / act.where(act > 0)).mean()
        return pd.Series({"cells": len(g), "mae": mae, "naive_mae": nmae,
                          "ratio_to_naive": mae / nmae if nmae > 0 else np.nan, "mape": mape,
                          "coverage": g["covered"].mean()})

    summary = cells.groupby(["measure", "bucket"], sort=False)[["error", "naive_error", "actual", "covered"]].apply(summarise).reset_index()
    overall = cells.groupby("measure", sort=False)[["error", "naive_error", "actual", "covered"]].apply(summarise).reset_index()
    return {"cells": cells, "summary": summary, "overall": overall}


def vintage_curves(history: pd.DataFrame, *, worst: str = "M1", max_months: int = 12) -> pd.DataFrame:
    """Cumulative delinquency by vintage: the share of a vintage's accounts that have been
    in ``worst`` or a worse bucket by each month on book.

    Parameters
    ----------
    history : DataFrame
        The monthly history.
    worst : {"M1", "M2", "M3+"}
        The bucket that counts as delinquent (it or worse).
    max_months : int
        The longest months on book shown.

    Returns
    -------
    DataFrame
        One row per (vintage, months_on_book): ``vintage`` (the first month the account is
        in the history: its origination or placement month as the data shows it),
        ``months_on_book`` (0 = that month), ``accounts`` (of the vintage observed that
        long), ``ever_delinquent`` and ``cumulative_rate = ever_delinquent / accounts``.
    """
    check_choice("worst", worst, BUCKETS[1:])
    max_months = check_positive_int("max_months", max_months)
    h = history[["account_id", "month", "bucket"]]
    if h.empty:
        return pd.DataFrame(columns=["vintage", "months_on_book", "accounts", "ever_delinquent", "cumulative_rate"])
    first = h.groupby("account_id")["month"].transform("min")
    last = h.groupby("account_id")["month"].transform("max")
    mob = (h["month"].dt.year - first.dt.year) * 12 + (h["month"].dt.month - first.dt.month)
    bad = pd.Categorical(h["bucket"].astype(str), categories=list(BUCKETS), ordered=True).codes >= BUCKETS.index(worst)
    f = pd.DataFrame({"account_id": h["account_id"].to_numpy(), "vintage": first.to_numpy(), "mob": mob.to_numpy(),
                      "bad": bad, "span": ((last.dt.year - first.dt.year) * 12 + (last.dt.month - first.dt.month)).to_numpy()})
    f = f.sort_values(["account_id", "mob"])
    rows = []
    for v, g in f.groupby("vintage"):
        span = g.groupby("account_id")["span"].first()
        for k in range(0, min(int(span.max()), max_months) + 1):
            seen = span[span >= k].index
            upto = g[(g["mob"] <= k) & g["account_id"].isin(seen)]
            ever = int(upto.groupby("account_id")["bad"].max().sum())
            rows.append({"vintage": pd.Timestamp(v), "months_on_book": k, "accounts": len(seen),
                         "ever_delinquent": ever, "cumulative_rate": ever / len(seen) if len(seen) else np.nan})
    return pd.DataFrame(rows)
