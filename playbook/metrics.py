"""Collections KPIs, following the definitions in the domain brief (§4).

Every function takes canonical tables (see :mod:`playbook.schema`) and is vectorised.
:func:`kpis` assembles them per group: any segment dimension, ``team`` or ``month``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from ._checks import check_choice, check_positive_int
from .content import Playbook, load_playbook
from .arrays import codes_of, day_end_ns, local_dates, to_ns as _ns
from .features import VOICE_CHANNELS, promise_states
from ._docstrings import share_docs
from .portfolio import Portfolio
from .prepared import Prepared, prepared_for
from .segmentation import segment
from .schema import BUCKETS

__all__ = ["transitions", "roll_counts", "roll_rates", "flow_rates", "cure_rates", "transition_quirks",
           "contact_rates", "ptp_rates", "kpis", "KPI_COLUMNS"]

def _pairs(history: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions (into ``history``) of each consecutive-month pair, and the bucket codes.

    Sorting is skipped when the rows are already grouped by account in month order, as
    exports and :func:`playbook.demo_portfolio` write them.
    """
    with ThreadPoolExecutor(max_workers=2) as pool:
        bucket_job = pool.submit(codes_of, history["bucket"], BUCKETS)
        acc, _ = pd.factorize(history["account_id"])
        per = history["month"].to_numpy().astype("datetime64[M]").astype("int64")
        key = acc.astype("int64") * (1 << 24) + (per - per.min() if len(per) else per)
        step = np.diff(key)
        if len(step) and step.min() <= 0:  # not grouped in month order: sort once
            order = np.argsort(key, kind="stable")
            step = np.diff(key[order])
        else:
            order = None
        nxt = np.flatnonzero(step == 1)
        bucket = bucket_job.result()
    if order is None:
        return nxt, nxt + 1, bucket
    return order[nxt], order[nxt + 1], bucket


def transitions(history: pd.DataFrame) -> pd.DataFrame:
    """Month-to-month pairs of each account's history.

    Only consecutive calendar months pair up (a gap in an account's history breaks the
    chain rather than being bridged). Returns ``account_id``, ``month`` (the later month),
    ``from_bucket``, ``to_bucket``, ``from_balance``, ``to_balance``.
    """
    i, j, bucket = _pairs(history)
    bal = history["balance"].to_numpy()
    return pd.DataFrame({
        "account_id": history["account_id"].array.take(j), "month": history["month"].to_numpy()[j],
        "from_bucket": pd.Categorical.from_codes(bucket[i], categories=list(BUCKETS), ordered=True),
        "to_bucket": pd.Categorical.from_codes(bucket[j], categories=list(BUCKETS), ordered=True),
        "from_balance": bal[i], "to_balance": bal[j],
    })


def roll_counts(history: pd.DataFrame, weight: str = "count") -> pd.DataFrame:
    """From-bucket x to-bucket totals: account counts, or balance at the start (``weight="balance"``)."""
    check_choice("weight", weight, ("count", "balance"))
    i, j, bucket = _pairs(history)
    if (bucket[i] < 0).any() or (bucket[j] < 0).any():
        bad = sorted(set(history["bucket"].iloc[np.concatenate([i, j])[np.concatenate([bucket[i], bucket[j]]) < 0]]))
        check_choice("bucket", bad[0], BUCKETS)
    w = None if weight == "count" else history["balance"].to_numpy()[i]
    k = len(BUCKETS)
    flat = np.bincount(bucket[i] * k + bucket[j], weights=w, minlength=k * k).reshape(k, k).astype("float64")
    return pd.DataFrame(flat, index=pd.Index(BUCKETS, name="from"), columns=pd.Index(BUCKETS, name="to"))


def roll_rates(history: pd.DataFrame, weight: str = "count") -> pd.DataFrame:
    """The roll-rate (transition) matrix: row shares of :func:`roll_counts`.

    ``rate[b, c] = (accounts, or balance, in b at t-1 that are in c at t) / (accounts, or
    balance, in b at t-1)``, over all consecutive month pairs. Labels ``current``, ``M1``,
    ``M2``, ``M3+``. A from-bucket with no observations is a row of NaN.
    """
    c = roll_counts(history, weight)
    tot = c.sum(axis=1)
    return c.div(tot.where(tot > 0), axis=0)


def flow_rates(history: pd.DataFrame) -> pd.DataFrame:
    """Flow rates per month: ``balance in b+1 at t / balance in b at t-1``.

    Columns ``current>M1``, ``M1>M2``, ``M2>M3+`` (whole-bucket balances, not account
    paths); index the later month.
    """
    h = history.groupby(["month", "bucket"], observed=True)["balance"].sum().unstack("bucket")
    h = h.reindex(columns=list(BUCKETS)).fillna(0.0).sort_index()
    full = pd.date_range(h.index.min(), h.index.max(), freq="MS") if len(h) else h.index
    h = h.reindex(full)
    out = pd.DataFrame(index=h.index[1:])
    for a, b in zip(BUCKETS[:-1], BUCKETS[1:]):
        prev = h[a].shift(1).iloc[1:]
        out[f"{a}>{b}"] = (h[b].iloc[1:] / prev.where(prev > 0)).to_numpy()
    out.index.name = "month"
    return out


def cure_rates(history: pd.DataFrame, interactions: pd.DataFrame | None = None,
               playbook: Playbook | None = None, *, timezone: str | None = None) -> pd.DataFrame:
    """Cure and self-cure per month.

    ``cure_rate = accounts delinquent at t-1 and current at t / accounts delinquent at
    t-1``; ``self_cure_rate`` counts only cures with no contact (anyone reached) during
    month t (months in ``timezone``, default the business time zone). Without interactions
    the self-cure columns are NaN.
    """
    t = transitions(history)
    delinquent = t["from_bucket"] != "current"
    cured = delinquent & (t["to_bucket"] == "current")
    g = pd.DataFrame({"month": t["month"], "delinquent": delinquent, "cured": cured})
    if interactions is not None:
        pb = playbook or load_playbook()
        contact = interactions[pb.disposition_flags(interactions["outcome"], ("contact",))["contact"]]
        m = local_dates(contact["ts"], timezone or pb.timezone).dt.to_period("M").dt.to_timestamp()
        touched = pd.MultiIndex.from_arrays([contact["account_id"], m.astype("datetime64[us]")]).unique()
        key = pd.MultiIndex.from_arrays([t["account_id"], pd.Series(t["month"]).astype("datetime64[us]")])
        g["self_cured"] = cured & ~key.isin(touched)
    else:
        g["self_cured"] = np.nan
    out = g.groupby("month").agg(delinquent=("delinquent", "sum"), cured=("cured", "sum"),
                                 self_cured=("self_cured", "sum" if interactions is not None else "first"))
    out["cure_rate"] = out["cured"] / out["delinquent"].where(out["delinquent"] > 0)
    out["self_cure_rate"] = out["self_cured"] / out["delinquent"].where(out["delinquent"] > 0)
    return out


def transition_quirks(history: pd.DataFrame) -> pd.DataFrame:
    """Transitions a strict one-bucket-a-month model does not allow, counted, not smoothed.

    Rows: skipping a bucket forward (e.g. ``current>M2``), falling back by more than one
    bucket without reaching current (e.g. ``M3+>M1``), and months missing inside an
    account's history.
    """
    t = transitions(history)
    f, to = t["from_bucket"].cat.codes.to_numpy(), t["to_bucket"].cat.codes.to_numpy()
    rows = []
    for a in range(len(BUCKETS)):
        for b in range(len(BUCKETS)):
            kind = "skips forward" if b > a + 1 else ("partial cure" if 0 < b < a - 1 else None)
            if kind:
                rows.append({"quirk": f"{BUCKETS[a]}>{BUCKETS[b]}", "kind": kind, "count": int(((f == a) & (to == b)).sum())})
    h = history.sort_values(["account_id", "month"])
    per = h["month"].dt.year * 12 + h["month"].dt.month
    same = h["account_id"].eq(h["account_id"].shift())
    gaps = int(((per - per.shift()) > 1)[same].sum())
    rows.append({"quirk": "missing months", "kind": "gap", "count": gaps})
    out = pd.DataFrame(rows)
    out["share_of_transitions"] = out["count"] / max(len(t), 1)
    return out


def contact_rates(interactions: pd.DataFrame, playbook: Playbook | None = None) -> pd.Series:
    """``rpc_rate = RPC / attempts``; ``contact_rate = anyone reached / attempts``.

    Attempts are outbound call, visit and IVR interactions.
    """
    pb = playbook or load_playbook()
    voice = interactions["channel"].isin(VOICE_CHANNELS) & (interactions["direction"] == "outbound")
    attempts = int(voice.sum())
    flag = pb.disposition_flags(interactions["outcome"], ("rpc", "contact"))
    rpc = int((voice & flag["rpc"]).sum())
    contact = int((voice & flag["contact"]).sum())
    return pd.Series({"attempts": attempts, "rpc": rpc, "contacts": contact,
                      "rpc_rate": rpc / attempts if attempts else np.nan,
                      "contact_rate": contact / attempts if attempts else np.nan})


def ptp_rates(interactions: pd.DataFrame, payments: pd.DataFrame, as_of: str | pd.Timestamp,
              playbook: Playbook | None = None) -> pd.Series:
    """``ptp_rate = promises / RPC``; ``ptp_kept_rate = kept / promises fallen due``.

    Kept means paid at least the promised amount on or before the promised date
    (see :func:`playbook.features.promise_states`).
    """
    pb = playbook or load_playbook()
    states = promise_states(interactions, payments, as_of, timezone=pb.timezone)["state"].value_counts()
    rpc = int(pb.disposition_flags(interactions["outcome"], ("rpc",))["rpc"].sum())
    kept, broken, pending = (int(states.get(s, 0)) for s in ("kept", "broken", "pending"))
    promises = kept + broken + pending
    return pd.Series({"promises": promises, "rpc": rpc, "ptp_rate": promises / rpc if rpc else np.nan,
                      "kept": kept, "broken": broken, "pending": pending,
                      "ptp_kept_rate": kept / (kept + broken) if kept + broken else np.nan})


KPI_COLUMNS = ["accounts", "balance", "overdue", "attempts", "rpc", "contacts", "rpc_rate", "contact_rate",
               "promises", "ptp_rate", "kept", "broken", "pending", "ptp_kept_rate", "collected",
               "recovery_rate", "liquidation_rate", "cost", "cost_to_collect", "collector_hours",
               "collected_per_collector_hour", "collectors", "accounts_worked", "accounts_per_collector",
               "roll_forward_rate", "cure_rate", "self_cure_rate"]


# The KPIs that cannot be computed without each table (n/a when it has no rows).
NEEDS = {
    "interactions": ("attempts", "rpc", "contacts", "rpc_rate", "contact_rate", "promises", "ptp_rate", "kept",
                     "broken", "pending", "ptp_kept_rate", "cost", "cost_to_collect", "collector_hours",
                     "collected_per_collector_hour", "collectors", "accounts_worked", "accounts_per_collector",
                     "self_cure_rate"),
    "payments": ("collected", "recovery_rate", "liquidation_rate", "kept", "broken", "ptp_kept_rate",
                 "cost_to_collect", "collected_per_collector_hour"),
    "history": ("roll_forward_rate", "cure_rate", "self_cure_rate"),
}


def rates_from_counts(counts: pd.DataFrame) -> pd.DataFrame:
    """The KPI rates from summed counts, one row per group (pooled, never averaged).

    ``counts`` holds per group ``attempts``, ``rpc``, ``rpc_any``, ``contacts``,
    ``promises``, ``kept``, ``broken``, ``balance``, ``overdue``, ``collected``, ``cost``,
    ``minutes``, ``accounts_worked``, ``collectors`` and the roll counts ``fwd``, ``n``,
    ``cured``, ``del``, ``self``; a rate whose denominator is 0 is n/a. Returns a copy with
    the rates (and ``collector_hours``) added; :func:`kpis` documents each definition.
    """
    out = counts.copy()

    def ratio(a: str | pd.Series, b: str | pd.Series) -> pd.Series:
        num = out[a] if isinstance(a, str) else a
        den = out[b] if isinstance(b, str) else b
        return num / den.where(den > 0)

    out["rpc_rate"] = ratio("rpc", "attempts")
    out["contact_rate"] = ratio("contacts", "attempts")
    out["ptp_rate"] = ratio("promises", "rpc_any")
    out["ptp_kept_rate"] = ratio("kept", out["kept"] + out["broken"])
    out["recovery_rate"] = ratio("collected", out["balance"] + out["collected"])
    out["liquidation_rate"] = ratio("collected", out["overdue"] + out["collected"])
    out["cost_to_collect"] = ratio("cost", "collected")
    out["collector_hours"] = out["minutes"] / 60
    out["collected_per_collector_hour"] = ratio("collected", "collector_hours")
    out["accounts_per_collector"] = ratio("accounts_worked", "collectors")
    out["roll_forward_rate"] = ratio("fwd", "n")
    out["cure_rate"] = ratio("cured", "del")
    out["self_cure_rate"] = ratio("self", "del")
    return out


@share_docs
def kpis(portfolio: Portfolio | Prepared, as_of: str | pd.Timestamp | None = None, *, by: str | None = None,
         window_days: int = 30, segments: pd.DataFrame | None = None, playbook: Playbook | None = None) -> pd.DataFrame:
    """The standard KPIs over the last ``window_days`` before ``as_of``, per group.

    Parameters
    ----------
    {portfolio}
    {as_of}
        May be omitted when ``portfolio`` is a prepared bundle.
    by : str, optional
        ``None`` (one row, ``all``), ``"month"`` (calendar months of the window and of the
        history), ``"status"`` (account status), or any segment dimension such as
        ``team``, ``stage`` or ``behaviour_type``.
    segments : DataFrame, optional
        The output of :func:`playbook.segment`; computed when ``by`` needs it.
    window_days : int
        Length of the KPI window in days, ending with ``as_of``.
    {playbook}

    Returns
    -------
    DataFrame
        One row per group (index named after ``by``, or ``group`` with the one row
        ``all``) and the columns of ``KPI_COLUMNS``.

    Notes
    -----
    Formulas: ``rpc_rate = RPC / attempts``; ``contact_rate = contacts / attempts``;
    ``ptp_rate = promises / RPC``; ``ptp_kept_rate = kept / (kept + broken)``;
    ``recovery_rate = collected / outstanding at the start of the window`` (current balance
    plus what was collected); ``liquidation_rate = collected / amount placed`` (amount
    overdue at the start of the window: overdue now plus collected); ``cost_to_collect =
    cost / collected`` with costs per action from ``costs.yaml``;
    ``collected_per_collector_hour = collected / collector hours`` (collector minutes per
    action from ``costs.yaml``); ``accounts_per_collector = accounts worked / agents``;
    ``roll_forward_rate`` = share of account-months that moved to a worse bucket;
    ``cure_rate`` and ``self_cure_rate`` as in :func:`cure_rates`. Roll and cure figures
    use the monthly history of the window's months.
    """
    window_days = check_positive_int("window_days", window_days)
    prep = prepared_for(portfolio, as_of, playbook)
    pb, day, portfolio = prep.playbook, prep.as_of, prep.portfolio
    tz = prep.timezone
    cut = day_end_ns(day, tz)
    start = cut - window_days * 86_400_000_000_000
    acc = portfolio.accounts
    it = portfolio.interactions[(_ns(portfolio.interactions["ts"]) < cut) & (_ns(portfolio.interactions["ts"]) >= start)]
    pay = portfolio.payments[(_ns(portfolio.payments["paid_at"]) < cut) & (_ns(portfolio.payments["paid_at"]) >= start)]
    first_month = (day - pd.Timedelta(days=window_days - 1)).to_period("M").to_timestamp()
    hist = portfolio.history[(portfolio.history["month"] >= first_month - pd.DateOffset(months=1))
                             & (portfolio.history["month"] <= day.to_period("M").to_timestamp())]
    ps = prep.promises
    ps = ps[_ns(ps["ts"]) >= start]

    def local_month(s: pd.Series) -> pd.Series:
        return local_dates(s, tz).dt.to_period("M").dt.to_timestamp()

    if by is None:
        key = {"acc": pd.Series("all", index=acc.index), "it": pd.Series("all", index=it.index),
               "pay": pd.Series("all", index=pay.index), "ps": pd.Series("all", index=ps.index)}
        tkey = None
    elif by == "month":
        key = {"acc": None, "it": local_month(it["ts"]), "pay": local_month(pay["paid_at"]), "ps": local_month(ps["ts"])}
        tkey = "month"
    else:
        if by not in pb.rules and by != "status":
            check_choice("by", by, ["month", "status"] + list(pb.rules))
        seg = segments if segments is not None else segment(prep)
        g = pd.Series(seg[by].to_numpy(), index=seg["account_id"].to_numpy())
        key = {"acc": pd.Series(g.reindex(acc["account_id"]).to_numpy(), index=acc.index),
               "it": pd.Series(g.reindex(it["account_id"]).to_numpy(), index=it.index),
               "pay": pd.Series(g.reindex(pay["account_id"]).to_numpy(), index=pay.index),
               "ps": pd.Series(g.reindex(ps["account_id"]).to_numpy(), index=ps.index)}
        tkey = g

    flag = pb.disposition_flags(it["outcome"], ("rpc", "contact"))
    is_rpc = pd.Series(flag["rpc"], index=it.index)
    is_contact = pd.Series(flag["contact"], index=it.index)
    voice = it["channel"].isin(VOICE_CHANNELS) & (it["direction"] == "outbound")
    ev = pd.DataFrame({"g": key["it"], "attempt": voice, "rpc_any": is_rpc,
                       "rpc": voice & is_rpc, "contact": voice & is_contact})
    cost_per = {a.id: a.per_action for a in pb.costs.values()}
    per_min = {a.id: a.per_minute for a in pb.costs.values()}
    minutes = {a.id: a.minutes_of_collector_time for a in pb.costs.values()}
    dur_min = it["duration_s"].fillna(0) / 60
    channel = it["channel"].astype(object)
    scale = pb.cost_scale(portfolio.currency)  # the costs in the book's currency (NaN: no rate listed)
    ev["cost"] = (channel.map(cost_per).astype("float64").fillna(0) + channel.map(per_min).astype("float64").fillna(0) * dur_min
                  ) * scale
    ev["minutes"] = np.where(it["agent_id"].notna(),
                             np.maximum(channel.map(minutes).astype("float64").fillna(0), dur_min), 0.0)
    ev["agent"] = it["agent_id"]
    ev["account_id"] = it["account_id"]
    out = ev.groupby("g").agg(attempts=("attempt", "sum"), rpc=("rpc", "sum"), rpc_any=("rpc_any", "sum"),
                              contacts=("contact", "sum"), cost=("cost", "sum"), minutes=("minutes", "sum"),
                              collectors=("agent", "nunique"))
    worked = ev[ev["agent"].notna()].groupby("g")["account_id"].nunique().rename("accounts_worked")
    out = out.join(worked, how="outer")
    out = out.join(pd.DataFrame({"g": key["pay"], "collected": pay["amount"]}).groupby("g")["collected"].sum(), how="outer")
    pst = pd.crosstab(key["ps"], ps["state"]).reindex(columns=["kept", "broken", "pending"], fill_value=0)
    out = out.join(pst, how="outer")
    if key["acc"] is not None:
        out = out.join(pd.DataFrame({"g": key["acc"], "balance": acc["balance"], "overdue": acc["overdue_amount"]})
                       .groupby("g").agg(accounts=("balance", "size"), balance=("balance", "sum"), overdue=("overdue", "sum")),
                       how="outer")
    else:
        hm = hist[hist["bucket"] != "current"].groupby("month").agg(accounts=("balance", "size"), balance=("balance", "sum"))
        out = out.join(hm, how="outer")
        out["overdue"] = np.nan
    t = transitions(hist)
    t = t[t["month"] >= first_month]
    if tkey is None:
        tg = pd.Series("all", index=t.index)
    elif isinstance(tkey, str):
        tg = t["month"]
    else:
        tg = pd.Series(tkey.reindex(t["account_id"]).to_numpy(), index=t.index)
    fwd = t["to_bucket"].cat.codes > t["from_bucket"].cat.codes
    delinquent = t["from_bucket"] != "current"
    cured = delinquent & (t["to_bucket"] == "current")
    contacted = is_contact
    touched = pd.MultiIndex.from_arrays([it.loc[contacted, "account_id"].astype(str),
                                         local_month(it.loc[contacted, "ts"]).astype("datetime64[us]")])
    key = pd.MultiIndex.from_arrays([t["account_id"].astype(str), pd.Series(t["month"]).astype("datetime64[us]")])
    self_cured = cured & ~pd.Series(key.isin(touched), index=t.index)
    rc = pd.DataFrame({"g": tg, "fwd": fwd, "n": 1, "del": delinquent, "cured": cured, "self": self_cured}).groupby("g").sum()
    out = out.join(rc, how="outer")
    out = out.fillna({c: 0 for c in ["attempts", "rpc", "rpc_any", "contacts", "cost", "minutes", "collectors",
                                     "accounts_worked", "collected", "kept", "broken", "pending"]})
    out["promises"] = out["kept"] + out["broken"] + out["pending"]
    if np.isnan(scale):  # no rate sets the costs (costs.yaml's currency) against this book's amounts: n/a
        out["cost"] = np.nan

    out = rates_from_counts(out)
    for table in portfolio.missing:  # figures that need a missing table are n/a, not 0
        out[list(NEEDS[table])] = np.nan
    out.index.name = by or "group"
    return out.reindex(columns=KPI_COLUMNS)
