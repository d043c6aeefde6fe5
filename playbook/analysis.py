"""The five analyses of the seed's 催收数据的统计与分析方法, as functions of a portfolio.

1. :func:`repayment_by_band`: repayment rate by delinquency bucket x balance band;
2. :func:`delinquency_profile`: delinquency frequency, duration and amount;
3. :func:`promise_reliability`: promise-to-pay kept rate by amount, days to the promised
   date, type, and by how many promises the account broke before;
4. :func:`customer_value`: expected recovery (payment propensity x balance) with the
   contribution of each factor, for priority;
5. :func:`action_effectiveness`: cost and yield per action type, channel, outcome, hour of
   day and attempt number, with the right-party-contact rate by hour and attempt.

Each returns an :class:`Analysis`: named tables, the period and denominator the figures
are counted over, and, when a table the analysis needs is missing, ``available=False``
with the reason (the figures are then n/a, never 0). Every function is keyword-only
after the data and accepts a portfolio or a prepared bundle (:func:`playbook.prepare`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from ._checks import check_positive_int
from ._docstrings import share_docs
from .arrays import day_end_ns, local_dates, to_ns, wall_times
from .content import Playbook
from .features import VOICE_CHANNELS
from .portfolio import Portfolio
from .prepared import Prepared, prepared_for
from .schema import BUCKETS

__all__ = ["Analysis", "ANALYSES", "repayment_by_band", "delinquency_profile", "promise_reliability",
           "customer_value", "action_effectiveness", "bucket_of_dpd", "amount_bands", "run_all"]


@dataclass
class Analysis:
    """The result of one analysis.

    Attributes
    ----------
    name : str
        The analysis id (``repayment``, ``delinquency``, ``promises``, ``value``,
        ``effectiveness``).
    tables : dict of str to DataFrame
        The named result tables (empty when nothing could be computed).
    period : dict
        What the figures cover: ``start`` and ``end`` (ISO dates or months) and
        ``description``.
    denominator : str
        What the rates are shares of, in words.
    available : bool
        False when a table the analysis needs is missing or empty.
    missing : list of str
        Parts that could not be computed, each ``"<part>: needs <table> (<why>)"``.
    needs : list of str
        The tables (``interactions``, ``payments``, ``history``) whose absence made those
        parts n/a, one per entry of ``missing``.
    notes : list of str
        Facts a reader needs (the data source used, fallbacks taken).
    """

    name: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    period: dict = field(default_factory=dict)
    denominator: str = ""
    available: bool = True
    missing: list[str] = field(default_factory=list)
    needs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The result as plain JSON-ready data (tables as lists of records, NaN as None)."""
        def records(t: pd.DataFrame) -> list[dict]:
            flat = t.reset_index() if not isinstance(t.index, pd.RangeIndex) else t
            out = flat.astype(object).where(flat.notna(), None).to_dict("records")
            return [{str(k): (v.isoformat() if isinstance(v, pd.Timestamp) else v) for k, v in r.items()} for r in out]

        return {"name": self.name, "available": self.available, "period": self.period,
                "denominator": self.denominator, "missing": self.missing, "needs": self.needs, "notes": self.notes,
                "tables": {k: records(v) for k, v in self.tables.items()}}


# ----------------------------------------------------------------------------- helpers

def bucket_of_dpd(dpd: pd.Series | np.ndarray) -> np.ndarray:
    """Days past due as a bucket: 0 ``current``, 1-30 ``M1``, 31-60 ``M2``, 61+ ``M3+``."""
    d = np.asarray(dpd, dtype="float64")
    return np.array(BUCKETS, dtype=object)[np.select([d <= 0, d <= 30, d <= 60], [0, 1, 2], default=3)]


def _nice(x: float) -> float:
    """``x`` rounded to two significant digits (band edges people can read)."""
    if not np.isfinite(x) or x <= 0:
        return 0.0
    mag = 10 ** (np.floor(np.log10(x)) - 1)
    return float(np.round(x / mag) * mag)


def amount_bands(values: pd.Series | np.ndarray, edges: Sequence[float] | None = None, *,
                 quantiles: Sequence[float] = (0.25, 0.5, 0.75)) -> tuple[pd.Categorical, list[float]]:
    """Band each value by ``edges`` (upper ends, inclusive); default: the quartiles of the
    values, rounded to two significant digits. Returns the ordered bands (labelled
    ``<= 3,200``, ``3,200-8,100``, ``> 8,100``) and the edges used."""
    v = np.asarray(values, dtype="float64")
    if edges is None:
        finite = v[np.isfinite(v)]
        edges = sorted({_nice(q) for q in np.quantile(finite, quantiles)} - {0.0}) if len(finite) else []
    edges = [float(e) for e in edges]
    labels = ([f"<= {edges[0]:,.0f}"] + [f"{a:,.0f}-{b:,.0f}" for a, b in zip(edges, edges[1:])]
              + [f"> {edges[-1]:,.0f}"]) if edges else ["all"]
    code = np.searchsorted(np.asarray(edges), v, side="left") if edges else np.zeros(len(v), dtype=int)
    code = np.where(np.isfinite(v), code, -1)
    return pd.Categorical.from_codes(code, categories=labels, ordered=True), edges


def _rate(num: pd.Series | np.ndarray, den: pd.Series | np.ndarray) -> np.ndarray:
    num, den = np.asarray(num, dtype="float64"), np.asarray(den, dtype="float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def _window(prep: Prepared, days: int) -> tuple[int, int, pd.Timestamp]:
    """(start ns, end ns) of the ``days`` days ending with the as-of day, and the first day."""
    cut = day_end_ns(prep.as_of, prep.timezone)
    return cut - days * 86_400_000_000_000, cut, prep.as_of - pd.Timedelta(days=days - 1)


def _missing_table(pf: Portfolio, table: str) -> bool:
    return table in pf.missing or len(getattr(pf, table)) == 0


def _collections(prep: Prepared, window_days: int) -> tuple[pd.DataFrame | None, dict, str]:
    """Per account: bucket and outstanding balance at the start, and what was collected.

    From the payments table when it has rows: the bucket at the start of the period (the
    history month before it; today's ``dpd`` for an account without one), outstanding =
    balance today + collected, collected = payments in the ``window_days`` days ending
    with the as-of day. Otherwise from the history's ``paid`` column: bucket and balance in
    the month before the last history month up to the as-of day, collected = ``paid`` in
    that last month. ``None`` when neither is there. Also returns the period and the source.
    """
    pf = prep.portfolio
    if not _missing_table(pf, "payments"):
        start, cut, first = _window(prep, window_days)
        ns = to_ns(pf.payments["paid_at"])
        pay = pf.payments[(ns >= start) & (ns < cut)]
        got = pay.groupby("account_id", observed=True)["amount"].sum()
        acc = pf.accounts
        collected = got.reindex(acc["account_id"]).fillna(0.0).to_numpy()
        bucket = pd.Series(np.asarray(bucket_of_dpd(acc["dpd"]), dtype=object), index=acc["account_id"].to_numpy())
        before = (first - pd.Timedelta(days=1)).to_period("M").to_timestamp()
        start_of = pd.Series(dtype=object)
        if not _missing_table(pf, "history"):
            h = pf.history[pf.history["month"] == before].drop_duplicates("account_id")
            start_of = pd.Series(h["bucket"].astype(str).to_numpy(), index=h["account_id"].astype(str).to_numpy())
        known = bucket.index.isin(start_of.index)
        bucket[known] = start_of.reindex(bucket.index[known]).to_numpy()
        out = pd.DataFrame({"account_id": acc["account_id"].to_numpy(), "bucket": bucket.to_numpy(),
                            "balance": acc["balance"].to_numpy(dtype="float64") + collected,
                            "collected": collected})
        period = {"start": str(first.date()), "end": str(prep.as_of.date()),
                  "description": f"payments {first.date()} to {prep.as_of.date()} ({window_days} days); bucket at "
                                 f"the start: the {before:%Y-%m} history month for {int(known.sum())} accounts, "
                                 f"today's days past due for {int((~known).sum())} without one",
                  "start_history_accounts": int(known.sum()), "start_today_accounts": int((~known).sum())}
        return out, period, "payments"
    h = pf.history
    if _missing_table(pf, "history") or "paid" not in h or h["paid"].notna().sum() == 0:
        return None, {}, ""
    h = h[h["month"] <= prep.as_of.to_period("M").to_timestamp()]
    if h.empty:
        return None, {}, ""
    last = h["month"].max()
    prev = last - pd.DateOffset(months=1)
    a = h[h["month"] == prev].set_index("account_id")
    b = h[h["month"] == last].set_index("account_id")
    both = a.index.intersection(b.index)
    a, b = a.loc[both], b.loc[both]
    out = pd.DataFrame({"account_id": both.to_numpy(), "bucket": a["bucket"].astype(object).to_numpy(),
                        "balance": a["balance"].to_numpy(dtype="float64"),
                        "collected": b["paid"].fillna(0.0).to_numpy(dtype="float64")})
    period = {"start": f"{prev:%Y-%m}", "end": f"{last:%Y-%m}",
              "description": f"paid in {last:%Y-%m} against the {prev:%Y-%m} balance (monthly history)"}
    return out, period, "history"


# ----------------------------------------------------------------------------- 1. repayment

@share_docs
def repayment_by_band(data: Portfolio | Prepared, *, as_of: str | pd.Timestamp | None = None,
                      window_days: int = 30, balance_edges: Sequence[float] | None = None,
                      playbook: Playbook | None = None) -> Analysis:
    """Repayment rate by delinquency bucket x balance band.

    Parameters
    ----------
    data : Portfolio or Prepared
        The portfolio, or a bundle prepared for ``as_of``.
    {as_of}
    window_days : int
        The collection period: the days ending with ``as_of`` (payments source).
    balance_edges : sequence of float, optional
        Upper ends of the balance bands; default the quartiles of the outstanding balance.
    {playbook}

    Returns
    -------
    Analysis
        ``cells`` (one row per bucket x band: ``accounts``, ``payers``, ``outstanding``,
        ``collected``, ``repayment_rate``, ``payer_rate``), ``by_bucket`` and ``by_band``
        (the margins), and ``rate_matrix`` (bucket x band repayment rates, for the heatmap).

    Notes
    -----
    Formula: ``repayment_rate = collected / outstanding`` and ``payer_rate = accounts
    that paid anything / accounts``, per cell. Period and denominator: with payments,
    collected = payments in the ``window_days`` days to ``as_of``; outstanding = balance
    on ``as_of`` + collected (the balance at the start of the period); the bucket is the
    one at the start of the period: the account's history month before it (so an account
    that paid up during the period counts where it started, not as current), else today's
    days past due (0, 1-30, 31-60, 61+) for an account without that history month. Without payments but with a monthly history carrying ``paid``:
    collected = ``paid`` in the last history month, outstanding = balance and bucket in
    the month before. Without either: not available (n/a), saying why.
    """
    window_days = check_positive_int("window_days", window_days)
    prep = prepared_for(data, as_of, playbook)
    frame, period, source = _collections(prep, window_days)
    res = Analysis("repayment", period=period,
                   denominator="accounts (payer rate) and outstanding balance at the start of the period "
                               "(repayment rate) in each bucket x balance band")
    if frame is None:
        res.available = False
        res.missing.append("repayment rate: needs payments (dated payments) or a monthly history with paid amounts")
        res.needs.append("payments")
        return res
    res.notes.append(f"source: {source}")
    band, edges = amount_bands(frame["balance"], balance_edges)
    frame = frame.assign(band=band, payer=frame["collected"] > 0)
    frame["bucket"] = pd.Categorical(frame["bucket"], categories=list(BUCKETS), ordered=True)

    def agg(keys: list[str]) -> pd.DataFrame:
        g = frame.groupby(keys, observed=False).agg(accounts=("account_id", "size"), payers=("payer", "sum"),
                                                     outstanding=("balance", "sum"), collected=("collected", "sum"))
        g["repayment_rate"] = _rate(g["collected"], g["outstanding"])
        g["payer_rate"] = _rate(g["payers"], g["accounts"])
        return g

    cells = agg(["bucket", "band"])
    res.tables = {"cells": cells.reset_index(), "by_bucket": agg(["bucket"]).reset_index(),
                  "by_band": agg(["band"]).reset_index(),
                  "rate_matrix": cells["repayment_rate"].unstack("band")}
    res.period["balance_edges"] = edges
    return res


# ----------------------------------------------------------------------------- 2. delinquency

def _runs(delinquent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of a (accounts x months) boolean matrix: the number of delinquency spells
    (runs of consecutive delinquent months) and the longest spell in months."""
    d = delinquent.astype("int8")
    starts = np.diff(np.concatenate([np.zeros((len(d), 1), dtype="int8"), d], axis=1), axis=1) == 1
    episodes = starts.sum(axis=1)
    longest = np.zeros(len(d), dtype="int64")
    run = np.zeros(len(d), dtype="int64")
    for j in range(d.shape[1]):
        run = np.where(d[:, j] == 1, run + 1, 0)
        longest = np.maximum(longest, run)
    return episodes, longest


@share_docs
def delinquency_profile(data: Portfolio | Prepared, *, as_of: str | pd.Timestamp | None = None, months: int = 12,
                        amount_edges: Sequence[float] | None = None, playbook: Playbook | None = None) -> Analysis:
    """Delinquency frequency, duration and amount.

    Parameters
    ----------
    data : Portfolio or Prepared
        The portfolio, or a bundle prepared for ``as_of``.
    {as_of}
    months : int
        The history window: the last ``months`` history months up to the as-of month.
    amount_edges : sequence of float, optional
        Upper ends of the overdue-amount bands; default the quartiles.
    {playbook}

    Returns
    -------
    Analysis
        ``months_delinquent`` (accounts by number of delinquent months in the window),
        ``episodes`` (accounts by number of spells), ``longest_spell`` (accounts by the
        longest spell in months), ``by_month`` (per calendar month: accounts, delinquent,
        ``delinquency_rate``, delinquent balance), ``amount`` (accounts overdue today by
        overdue-amount band, with their overdue total) and ``accounts`` (per account).

    Notes
    -----
    A month is delinquent when its bucket is not ``current``. Frequency = number of
    spells (runs of consecutive delinquent months); duration = the longest spell; months
    delinquent = delinquent months among the account's history months in the window.
    Denominator: accounts with at least one history month in the window (shares), and
    per calendar month the accounts with a history row that month
    (``delinquency_rate = delinquent / accounts``). A month missing from an account's
    history ends a spell. The amount distribution uses today's accounts with
    ``dpd > 0``. Without history the frequency and duration parts are n/a.
    """
    months = check_positive_int("months", months)
    prep = prepared_for(data, as_of, playbook)
    pf = prep.portfolio
    res = Analysis("delinquency", denominator="accounts with history in the window; per month the accounts "
                                              "with a history row that month; today's overdue accounts (amount)")
    acc = pf.accounts
    od = acc[acc["dpd"] > 0]
    band, edges = amount_bands(od["overdue_amount"], amount_edges)
    amount = (pd.DataFrame({"band": band, "overdue": od["overdue_amount"].to_numpy(dtype="float64")})
              .groupby("band", observed=False).agg(accounts=("overdue", "size"), overdue=("overdue", "sum")))
    amount["share"] = _rate(amount["accounts"], np.full(len(amount), len(od)))
    res.tables["amount"] = amount.reset_index()
    if _missing_table(pf, "history"):
        res.available = False
        res.missing.append("frequency and duration: needs the monthly history (no history table)")
        res.needs.append("history")
        res.period = {"start": str(prep.as_of.date()), "end": str(prep.as_of.date()), "description": "accounts today"}
        return res
    h = pf.history[pf.history["month"] <= prep.as_of.to_period("M").to_timestamp()]
    last = h["month"].max()
    first = max(last - pd.DateOffset(months=months - 1), h["month"].min())
    h = h[h["month"] >= first]
    grid = pd.date_range(first, last, freq="MS")
    ids, acode = np.unique(h["account_id"].astype(str).to_numpy(), return_inverse=True)
    mcode = ((h["month"].dt.year - first.year) * 12 + (h["month"].dt.month - first.month)).to_numpy()
    dmat = np.zeros((len(ids), len(grid)), dtype=bool)
    dmat[acode, mcode] = (h["bucket"].astype(str) != "current").to_numpy()
    episodes, longest = _runs(dmat)
    per = pd.DataFrame({"account_id": ids, "months_delinquent": dmat.sum(axis=1), "episodes": episodes,
                        "longest_spell": longest})
    n = len(per)

    def dist(col: str) -> pd.DataFrame:
        c = per[col].value_counts().reindex(range(len(grid) + 1), fill_value=0)
        top = int(per[col].max()) if n else 0
        c = c.loc[: max(top, 0)]
        return pd.DataFrame({col: c.index, "accounts": c.to_numpy(), "share": _rate(c.to_numpy(), np.full(len(c), n))})

    hm = h.assign(delinquent=(h["bucket"].astype(str) != "current").to_numpy())
    by_month = hm.groupby("month").agg(accounts=("account_id", "size"), delinquent=("delinquent", "sum"))
    by_month["delinquency_rate"] = _rate(by_month["delinquent"], by_month["accounts"])
    by_month["delinquent_balance"] = hm[hm["delinquent"]].groupby("month")["balance"].sum().reindex(by_month.index).fillna(0.0)
    res.tables.update({"months_delinquent": dist("months_delinquent"), "episodes": dist("episodes"),
                       "longest_spell": dist("longest_spell"), "by_month": by_month.reset_index(), "accounts": per})
    res.period = {"start": f"{first:%Y-%m}", "end": f"{last:%Y-%m}", "months": len(grid), "amount_edges": edges,
                  "description": f"history months {first:%Y-%m} to {last:%Y-%m}"}
    return res


# ----------------------------------------------------------------------------- 3. promises

@share_docs
def promise_reliability(data: Portfolio | Prepared, *, as_of: str | pd.Timestamp | None = None,
                        window_days: int = 90, amount_edges: Sequence[float] | None = None,
                        days_edges: Sequence[int] = (0, 3, 7, 14), playbook: Playbook | None = None) -> Analysis:
    """Promise-to-pay reliability.

    Parameters
    ----------
    data : Portfolio or Prepared
        The portfolio, or a bundle prepared for ``as_of``.
    {as_of}
    window_days : int
        Promises made in the ``window_days`` days ending with ``as_of`` count.
    amount_edges : sequence of float, optional
        Upper ends of the promise-amount bands; default the quartiles.
    days_edges : sequence of int
        Upper ends of the days-to-promise bands (promised date minus the day of the promise).
    {playbook}

    Returns
    -------
    Analysis
        ``by_amount``, ``by_days``, ``by_type`` (channel and direction of the contact the
        promise was made in), ``by_party`` and ``by_broken_before`` (promises the account
        had already broken when it made this one: 0, 1, 2, 3+), each with ``promises``
        (fallen due), ``kept``, ``broken``, ``kept_rate``; ``overall`` one row.

    Notes
    -----
    Formula: ``kept_rate = kept / (kept + broken)``: the denominator is the promises whose
    date has passed by the end of ``as_of`` (pending promises are left out). Kept means
    paid at least the promised amount after the promise and by the end of the promised
    day (:func:`playbook.features.promise_states`). A promise without a date is due the
    day it was made (0 days). "Broken before" counts the same account's broken promises
    whose date ended before this promise was made. Needs interactions (the promises) and
    payments (whether they were kept); otherwise n/a.
    """
    window_days = check_positive_int("window_days", window_days)
    prep = prepared_for(data, as_of, playbook)
    pf = prep.portfolio
    start, cut, first = _window(prep, window_days)
    res = Analysis("promises", period={"start": str(first.date()), "end": str(prep.as_of.date()),
                                       "description": f"promises made {first.date()} to {prep.as_of.date()} "
                                                      f"whose date has passed"},
                   denominator="promises fallen due (kept + broken)")
    for table in ("interactions", "payments"):
        if _missing_table(pf, table):
            res.available = False
            res.needs.append(table)
            res.missing.append(f"promise reliability: needs {table} ("
                               + ("the promises are recorded in the contact log" if table == "interactions"
                                  else "whether a promise was kept is read from the payments") + ")")
    if not res.available:
        return res
    tz = prep.timezone
    ps = prep.promises
    it = pf.interactions
    made = local_dates(ps["ts"], tz).dt.normalize()
    due = ps["ptp_date"].fillna(made)
    allp = pd.DataFrame({"account_id": ps["account_id"].astype(str).to_numpy(), "ts_ns": to_ns(ps["ts"]),
                         "made": made.to_numpy(), "due": due.to_numpy(), "state": ps["state"].to_numpy(),
                         "amount": ps["ptp_amount"].to_numpy(dtype="float64")}, index=ps.index)
    # broken before: the account's broken promises whose promised day ended before this one was made
    broken = allp[allp["state"] == "broken"]
    due_end = broken["due"] + pd.Timedelta(days=1)
    bk = pd.DataFrame({"account_id": broken["account_id"].to_numpy(), "t": due_end.to_numpy()}).sort_values("t")
    q = pd.DataFrame({"account_id": allp["account_id"].to_numpy(), "t": allp["made"].to_numpy(),
                      "pos": np.arange(len(allp))})
    bk["n"] = bk.groupby("account_id").cumcount() + 1
    if len(bk) and len(q):
        m = pd.merge_asof(q.sort_values("t"), bk, on="t", by="account_id", direction="backward",
                          allow_exact_matches=True)
        before = np.zeros(len(allp), dtype="int64")
        before[m["pos"].to_numpy()] = m["n"].fillna(0).to_numpy(dtype="int64")
    else:
        before = np.zeros(len(allp), dtype="int64")
    allp["broken_before"] = before
    p = allp[(allp["ts_ns"] >= start) & (allp["ts_ns"] < cut) & allp["state"].isin(["kept", "broken"])].copy()
    src = it.loc[p.index]
    p["type"] = (src["channel"].astype(str) + " " + src["direction"].astype(str)).to_numpy()
    p["party"] = src["party"].astype(str).to_numpy()
    p["days"] = ((p["due"] - p["made"]).dt.days).clip(lower=0)
    p["kept"] = p["state"] == "kept"
    band, a_edges = amount_bands(p["amount"], amount_edges)
    p["amount_band"] = band
    d_edges = list(days_edges)
    dl = ([f"{d_edges[0]}"] if d_edges[0] == 0 else [f"<= {d_edges[0]}"]) + \
        [f"{a + 1}-{b}" for a, b in zip(d_edges, d_edges[1:])] + [f"> {d_edges[-1]}"]
    p["days_band"] = pd.Categorical.from_codes(np.searchsorted(np.asarray(d_edges), p["days"].to_numpy(), side="left"),
                                               categories=dl, ordered=True)
    p["broken_before_band"] = pd.Categorical(np.minimum(p["broken_before"], 3).map({0: "0", 1: "1", 2: "2", 3: "3+"}),
                                             categories=["0", "1", "2", "3+"], ordered=True)

    def agg(col: str | None) -> pd.DataFrame:
        g = (p.groupby(col, observed=False) if col else p.assign(all="all").groupby("all"))
        out = g.agg(promises=("kept", "size"), kept=("kept", "sum"), amount=("amount", "sum"))
        out["broken"] = out["promises"] - out["kept"]
        out["kept_rate"] = _rate(out["kept"], out["promises"])
        return out[["promises", "kept", "broken", "kept_rate", "amount"]].reset_index()

    res.tables = {"overall": agg(None), "by_amount": agg("amount_band"), "by_days": agg("days_band"),
                  "by_type": agg("type"), "by_party": agg("party"), "by_broken_before": agg("broken_before_band")}
    res.period["amount_edges"] = a_edges
    return res


# ----------------------------------------------------------------------------- 4. value

@share_docs
def customer_value(data: Portfolio | Prepared, *, as_of: str | pd.Timestamp | None = None, window_days: int = 30,
                   by: Sequence[str] = ("stage", "contactability"), min_cell: int = 30,
                   segments: pd.DataFrame | None = None, playbook: Playbook | None = None) -> Analysis:
    """Customer value for priority: expected recovery = payment propensity x balance.

    Parameters
    ----------
    data : Portfolio or Prepared
        The portfolio, or a bundle prepared for ``as_of``.
    {as_of}
    window_days : int
        The period the propensities are measured over (payments source).
    by : sequence of str
        Segment dimensions whose cells get their own propensity (``stage`` is the stage at
        the start of the period; the others come from ``segments``).
    min_cell : int
        A cell with fewer accounts takes the propensity of its first dimension alone.
    segments : DataFrame, optional
        :func:`playbook.segment` output, computed when omitted.
    {playbook}

    Returns
    -------
    Analysis
        ``propensity`` (per cell of the period: accounts, payers, propensity),
        ``accounts`` (per account overdue today: ``stage`` today, ``propensity``,
        ``balance`` today, ``value``, ``rank``, ``from_propensity``, ``from_balance``),
        ``deciles`` (value deciles of those accounts: accounts, balance, value and their
        shares), ``contribution`` (per segment of the first dimension: mean value and how
        much of its gap to the reference account comes from each factor).

    Notes
    -----
    Propensity is measured on the period, without the outcome leaking into the groups:
    ``propensity`` = share of the cell's accounts that paid anything in the period (the
    same collections as :func:`repayment_by_band`: payments in the ``window_days`` days to
    ``as_of``, else the history's last month), with ``stage`` the stage at the start of
    the period (the history month before it, else today's days past due for an account
    without one), so an account that paid up during the period counts in the stage it
    started in, not as current. Denominator: the accounts of the cell at the start.

    Value is for the accounts with something overdue today (days past due above 0 or an
    overdue amount above 0); the others are not ranked. Each takes the propensity of the
    cell it is in today (today's stage, the stage it starts the next period in; a cell
    under ``min_cell`` accounts takes its first dimension's; no estimate for that stage:
    not valued, counted in ``period["no_estimate"]``): ``value = propensity x balance
    today``. Denominators in ``period``: ``estimated_on`` accounts measured,
    ``overdue`` of ``accounts`` overdue today, ``valued`` ranked.

    The contribution compares each valued account with the reference account that has
    their average propensity and average balance (value ``p_mean x b_mean``, in
    ``period["reference_value"]``): its gap ``p x b - p_mean x b_mean`` splits exactly into
    ``from_propensity = (p - p_mean) x (b + b_mean) / 2`` and ``from_balance = (b - b_mean)
    x (p + p_mean) / 2`` (two-factor Shapley). The gap is not to the mean value: that differs
    from the reference value by the covariance of propensity and balance (``period
    ["mean_value"] - period["reference_value"]``). ``contribution`` averages the three per
    segment, so ``gap = from_propensity + from_balance`` holds there too. Without payments
    or paid amounts in the history: n/a.
    """
    window_days = check_positive_int("window_days", window_days)
    min_cell = check_positive_int("min_cell", min_cell)
    prep = prepared_for(data, as_of, playbook)
    frame, period, source = _collections(prep, window_days)
    res = Analysis("value", period=period,
                   denominator="accounts of each cell at the start of the period (propensity); "
                               "accounts overdue today (value, deciles)")
    if frame is None:
        res.available = False
        res.needs.append("payments")
        res.missing.append("customer value: needs payments or a monthly history with paid amounts "
                           "(the propensity to pay is measured from them)")
        return res
    res.notes.append(f"source: {source}")
    if segments is None:
        from .segmentation import segment

        segments = segment(prep)
    seg = segments.set_index("account_id")
    dims = [d for d in by if d == "stage" or d in seg.columns]

    def with_dims(ids: pd.Series, stage: np.ndarray) -> pd.DataFrame:
        out = pd.DataFrame({"account_id": ids.to_numpy()})
        for d in dims:
            out[d] = stage if d == "stage" else seg[d].astype(str).reindex(ids).to_numpy()
        return out

    f = with_dims(frame["account_id"], np.asarray(frame["bucket"], dtype=object))
    f["payer"] = frame["collected"].to_numpy() > 0
    f = f.dropna(subset=dims)
    acc = prep.portfolio.accounts
    due = acc["dpd"].to_numpy(dtype="float64") > 0
    if "overdue_amount" in acc:
        due |= acc["overdue_amount"].to_numpy(dtype="float64") > 0
    now = with_dims(acc["account_id"][due], bucket_of_dpd(acc["dpd"][due]))
    now["balance"] = acc["balance"][due].to_numpy(dtype="float64")
    now = now.dropna(subset=dims)
    if dims:
        cell = f.groupby(dims, observed=True).agg(accounts=("payer", "size"), payers=("payer", "sum"))
        cell["propensity"] = _rate(cell["payers"], cell["accounts"])
        top = f.groupby(dims[0], observed=True)["payer"].mean()
        p_cell = cell["propensity"].where(cell["accounts"] >= min_cell)
        key = pd.MultiIndex.from_frame(now[dims]) if len(dims) > 1 else pd.Index(now[dims[0]])
        p = p_cell.reindex(key).to_numpy(dtype="float64")
        p = np.where(np.isnan(p), top.reindex(now[dims[0]]).to_numpy(dtype="float64"), p)
        res.tables["propensity"] = cell.reset_index()
    else:
        p = np.full(len(now), f["payer"].mean() if len(f) else np.nan)
    known = ~np.isnan(p)
    now, p = now[known], p[known]
    b = now["balance"].to_numpy(dtype="float64")
    value = p * b
    pm, bm = (float(np.mean(p)), float(np.mean(b))) if len(p) else (np.nan, np.nan)
    accounts = now.drop(columns="balance").assign(propensity=p, balance=b, value=value,
                                                  from_propensity=(p - pm) * (b + bm) / 2,
                                                  from_balance=(b - bm) * (p + pm) / 2)
    accounts["rank"] = accounts["value"].rank(ascending=False, method="first").astype("int64")
    accounts = accounts.sort_values("rank").reset_index(drop=True)
    n = len(accounts)
    dec = pd.Series(np.minimum((np.arange(n) * 10) // max(n, 1), 9) + 1, index=accounts.index)
    deciles = accounts.groupby(dec).agg(accounts=("value", "size"), balance=("balance", "sum"), value=("value", "sum"))
    deciles.index.name = "decile"
    deciles["balance_share"] = _rate(deciles["balance"], np.full(len(deciles), deciles["balance"].sum()))
    deciles["value_share"] = _rate(deciles["value"], np.full(len(deciles), deciles["value"].sum()))
    res.tables.update({"accounts": accounts, "deciles": deciles.reset_index()})
    if dims:
        c = accounts.groupby(dims[0], observed=True).agg(accounts=("value", "size"), propensity=("propensity", "mean"),
                                                          balance=("balance", "mean"), value=("value", "mean"),
                                                          from_propensity=("from_propensity", "mean"),
                                                          from_balance=("from_balance", "mean"))
        c["gap"] = c["value"] - pm * bm
        res.tables["contribution"] = c.reset_index()
    res.period.update({"mean_propensity": pm, "mean_balance": bm, "reference_value": pm * bm,
                       "mean_value": float(np.mean(value)) if len(value) else np.nan,
                       "estimated_on": int(len(f)), "accounts": int(len(acc)), "overdue": int(due.sum()),
                       "valued": int(n), "no_estimate": int((~known).sum())})
    return res


# ----------------------------------------------------------------------------- 5. effectiveness

@share_docs
def action_effectiveness(data: Portfolio | Prepared, *, as_of: str | pd.Timestamp | None = None,
                         window_days: int = 90, yield_days: int = 7, max_attempt: int = 10,
                         playbook: Playbook | None = None) -> Analysis:
    """Cost and yield of each kind of collection action.

    Parameters
    ----------
    data : Portfolio or Prepared
        The portfolio, or a bundle prepared for ``as_of``.
    {as_of}
    window_days : int
        Actions in the ``window_days`` days ending with ``as_of`` count, except those in
        the last ``yield_days`` days (their yield window is not complete yet).
    yield_days : int
        A payment is the yield of the account's latest outbound action in the
        ``yield_days`` days before it.
    max_attempt : int
        Attempt numbers from this one on are pooled (``10+``).
    {playbook}

    Returns
    -------
    Analysis
        ``by_channel`` (the action types of ``costs.yaml``), ``by_outcome``, ``by_hour``
        (voice attempts by the debtor's local hour) and ``by_attempt`` (voice attempts by their number
        on the account in the window), each with ``actions``, ``cost``, ``rpc``,
        ``rpc_rate``, ``collected``, ``yield_per_action``, ``cost_per_collected``.

    Notes
    -----
    Actions are outbound interactions. ``cost`` = per-action cost + per-minute cost x
    duration (``costs.yaml``). ``collected`` = payments attributed to the action: each
    payment goes to the account's latest outbound action within ``yield_days`` days before
    it (last touch; a payment counts once). ``yield_per_action = collected / actions``,
    ``cost_per_collected = cost / collected``; ``rpc_rate = RPC / actions`` (voice:
    calls, visits, IVR). Hours are the debtor's local hours: in the account's ``timezone``,
    else (missing or unknown) the business time zone; ``period`` counts the voice
    attempts and accounts that fell back (``hour_fallback_attempts``,
    ``hour_fallback_accounts``, of ``voice_attempts``). Attempt number = the
    position of a voice attempt among the account's voice attempts in the window. Without
    interactions: n/a; without payments, the yield columns are n/a.
    """
    window_days = check_positive_int("window_days", window_days)
    yield_days = check_positive_int("yield_days", yield_days)
    max_attempt = check_positive_int("max_attempt", max_attempt)
    prep = prepared_for(data, as_of, playbook)
    pf, pb, tz = prep.portfolio, prep.playbook, prep.timezone
    start, cut, first = _window(prep, window_days)
    last_day = prep.as_of - pd.Timedelta(days=yield_days)
    res = Analysis("effectiveness", period={"start": str(first.date()), "end": str(last_day.date()),
                                            "yield_days": yield_days,
                                            "description": f"outbound actions {first.date()} to {last_day.date()}, "
                                                           f"payments within {yield_days} days after each"},
                   denominator="outbound actions (rates and yield per action); collected amount (cost per collected)")
    if _missing_table(pf, "interactions"):
        res.available = False
        res.missing.append("action effectiveness: needs interactions (the contact log)")
        res.needs.append("interactions")
        return res
    it = pf.interactions
    ns = to_ns(it["ts"])
    end = cut - yield_days * 86_400_000_000_000
    sel = (ns >= start) & (ns < end) & (it["direction"].astype(str) == "outbound").to_numpy()
    a = it[sel]
    ans = ns[sel]
    channel = a["channel"].astype(str)
    cost_per = {c.id: c.per_action for c in pb.costs.values()}
    per_min = {c.id: c.per_minute for c in pb.costs.values()}
    scale = pb.cost_scale(pf.currency)  # the costs in the book's currency (NaN: no rate listed)
    costed = not np.isnan(scale)
    cost = (channel.map(cost_per).astype("float64").fillna(0).to_numpy()
            + channel.map(per_min).astype("float64").fillna(0).to_numpy() * a["duration_s"].fillna(0).to_numpy() / 60
            ) * scale
    voice = channel.isin(VOICE_CHANNELS).to_numpy()
    rpc = pb.disposition_flags(a["outcome"], ("rpc",))["rpc"]
    act = pd.DataFrame({"account_id": a["account_id"].astype(str).to_numpy(), "t": ans, "channel": channel.to_numpy(),
                        "outcome": a["outcome"].astype(str).to_numpy(), "cost": cost, "voice": voice,
                        "rpc": rpc & voice, "pos": np.arange(len(a))})
    from .compliance.events import zones_or_default

    zones, fell_back = zones_or_default(pf.accounts, act["account_id"], tz)
    wall = wall_times(a["ts"], zones)
    act["hour"] = (wall - wall.astype("datetime64[D]")).astype("int64") // 3600
    act["fell_back"] = fell_back
    act = act.sort_values(["account_id", "t", "pos"], kind="stable")
    vo = act[act["voice"]]
    act["attempt"] = np.nan
    act.loc[vo.index, "attempt"] = vo.groupby("account_id").cumcount().to_numpy() + 1
    have_pay = not _missing_table(pf, "payments")
    act["collected"] = 0.0
    if have_pay:
        pns = to_ns(pf.payments["paid_at"])
        pay = pd.DataFrame({"account_id": pf.payments["account_id"].astype(str).to_numpy(), "t": pns,
                            "amount": pf.payments["amount"].to_numpy(dtype="float64")})[(pns >= start) & (pns < cut)]
        pay = pay.sort_values("t", kind="stable")
        left = act[["account_id", "t", "pos"]].sort_values("t", kind="stable")
        m = pd.merge_asof(pay, left.rename(columns={"t": "t_act"}).assign(t=left["t"]), on="t", by="account_id",
                          direction="backward", tolerance=yield_days * 86_400_000_000_000, allow_exact_matches=True)
        m = m.dropna(subset=["pos"])
        got = m.groupby("pos")["amount"].sum()
        pos_to_row = pd.Series(act.index, index=act["pos"].to_numpy())
        act.loc[pos_to_row.reindex(got.index.astype("int64")).to_numpy(), "collected"] = got.to_numpy()
    else:
        res.missing.append("yield and cost per collected: needs payments")
        res.needs.append("payments")
    act["attempt_band"] = np.where(act["attempt"].isna(), "",
                                   np.where(act["attempt"] >= max_attempt, f"{max_attempt}+",
                                            act["attempt"].fillna(0).astype("int64").astype(str)))

    def agg(frame: pd.DataFrame, col: str, order: list | None = None) -> pd.DataFrame:
        g = frame.groupby(col, observed=True).agg(actions=("cost", "size"), cost=("cost", "sum"),
                                                  voice=("voice", "sum"), rpc=("rpc", "sum"),
                                                  collected=("collected", "sum"))
        if order is not None:
            g = g.reindex([o for o in order if o in g.index])
        g["rpc_rate"] = _rate(g["rpc"], g["voice"])
        g["yield_per_action"] = _rate(g["collected"], g["actions"]) if have_pay else np.nan
        g["cost_per_collected"] = _rate(g["cost"], g["collected"]) if have_pay else np.nan
        if not costed:  # no rate sets the costs against this book's amounts: n/a, not a sum of nothing
            g[["cost", "cost_per_collected"]] = np.nan
        if not have_pay:
            g["collected"] = np.nan
        return g.drop(columns="voice").reset_index()

    vo = act[act["voice"]]
    attempts = [str(i) for i in range(1, max_attempt)] + [f"{max_attempt}+"]
    res.tables = {"by_channel": agg(act, "channel", [c for c in pb.costs] + sorted(set(act["channel"]) - set(pb.costs))),
                  "by_outcome": agg(act, "outcome").sort_values("actions", ascending=False).reset_index(drop=True),
                  "by_hour": agg(vo, "hour", list(range(24))), "by_attempt": agg(vo, "attempt_band", attempts)}
    res.tables["by_channel"]["rpc_rate"] = res.tables["by_channel"]["rpc_rate"].where(
        res.tables["by_channel"]["channel"].isin(VOICE_CHANNELS))
    res.notes.append("attribution: last touch within the yield window")
    fb = vo[vo["fell_back"]]
    res.period.update({"business_timezone": tz, "hour_fallback_attempts": int(len(fb)),
                       "hour_fallback_accounts": int(fb["account_id"].nunique()), "voice_attempts": int(len(vo))})
    res.notes.append(f"hours: each debtor's own time zone; {len(fb)} voice attempts on {fb['account_id'].nunique()} "
                     f"accounts without a known time zone use the business zone {tz}")
    return res


ANALYSES = {"repayment": repayment_by_band, "delinquency": delinquency_profile, "promises": promise_reliability,
            "value": customer_value, "effectiveness": action_effectiveness}


@share_docs
def run_all(data: Portfolio | Prepared, *, as_of: str | pd.Timestamp | None = None,
            segments: pd.DataFrame | None = None, playbook: Playbook | None = None) -> dict[str, Analysis]:
    """Every analysis with its default settings, on one prepared bundle.

    Parameters
    ----------
    data : Portfolio or Prepared
        The portfolio, or a bundle prepared for ``as_of``.
    {as_of}
    segments : DataFrame, optional
        :func:`playbook.segment` output (computed once when omitted).
    {playbook}

    Returns
    -------
    dict of str to Analysis
        Keyed ``repayment``, ``delinquency``, ``promises``, ``value``, ``effectiveness``.
    """
    prep = prepared_for(data, as_of, playbook)
    out = {}
    for name, fn in ANALYSES.items():
        out[name] = fn(prep, segments=segments) if name == "value" else fn(prep)
    return out
