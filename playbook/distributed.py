"""The Dask engine: the single-machine functions mapped over an account-partitioned dataset.

Per-account work (features, rules, scores, compliance checks, headroom) runs per partition
with the ordinary pandas code (:mod:`playbook.segmentation`, :mod:`playbook.metrics`,
:mod:`playbook.compliance`, :mod:`playbook.whatif`), on a ``dask.distributed`` cluster
(``engine="dask"``) or one partition after the other in this process
(``engine="pandas"``). Only aggregates travel back, and they are combined exactly: counts
and sums are added, rates are recomputed from the summed numerators and denominators
(never averaged), distinct counts are taken over the union of the partitions' sets, and
the one portfolio-wide per-account figure, the priority (a percentile rank over every
account), is ranked over all accounts' values at once.

The cluster: ``scheduler`` (an address such as ``tcp://10.0.0.5:8786``), else the
``DASK_SCHEDULER_ADDRESS`` environment variable, else a ``LocalCluster`` with one
single-threaded worker process per core and the machine's memory split between them.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import pandas as pd

from ._checks import check_choice, check_date, check_positive_int
from .compliance import ComplianceResult, check_compliance, get_pack, headroom as _headroom
from .content import Pack, load_playbook
from .errors import ArgumentError, RunError
from .metrics import KPI_COLUMNS, NEEDS, kpis as _kpis, rates_from_counts, transitions
from .partitioned import (PartitionedDataset, open_dataset, read_partition, read_positions,
                          write_demo_partitioned)
from .prepared import prepare
from .schema import BUCKETS
from .segmentation import segment as _segment
from .whatif import ResponseModel, ResponseVersion, cell_observations, load_response, model_from_observations

__all__ = ["ENGINES", "SCHEDULER_ENV", "connect", "segment", "write_segments", "SegmentsWritten", "kpis",
           "KpiReport", "kpi_report", "check_compliance_partitioned", "headroom", "calibrate", "prepare_briefings", "demo_data"]

ENGINES = ("pandas", "dask")
SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"


# ------------------------------------------------------------------------ the cluster


@contextmanager
def connect(scheduler: str | None = None, *, workers: int | None = None, processes: bool = True,
            memory_limit: str | int | None = "auto", timeout: str = "20s") -> Iterator[Any]:
    """A ``dask.distributed.Client``, closed (with the cluster it started) on exit.

    Parameters
    ----------
    scheduler : str, optional
        The address of a running scheduler (``tcp://host:8786``); default: the
        ``DASK_SCHEDULER_ADDRESS`` environment variable; without either, a ``LocalCluster``
        is started and stopped again.
    workers : int, optional
        Workers of the local cluster (default: one per core).
    processes : bool
        Local workers as processes (True) or threads of this process.
    memory_limit : str or int
        Per local worker; ``"auto"`` splits the machine's memory between the workers.
    timeout : str
        How long to try reaching a running scheduler before giving up.

    Yields
    ------
    distributed.Client
    """
    from distributed import Client, LocalCluster

    address = scheduler or os.environ.get(SCHEDULER_ENV) or None
    if address:
        try:
            client = Client(address, timeout=timeout)
        except (OSError, TimeoutError) as exc:
            raise RunError("dask", f"cannot reach the scheduler at {address}: {exc}") from None
        try:
            yield client
        finally:
            client.close()
        return
    import dask

    n = check_positive_int("workers", workers) if workers is not None else (os.cpu_count() or 1)
    # the nanny's MALLOC_TRIM_THRESHOLD_ fixes glibc's mmap threshold, so every large array is
    # mapped and zeroed afresh: segmentation ran ~1.5x slower in such workers. The features
    # hand memory back themselves (malloc_trim), so the local workers start without it.
    environ = {k: v for k, v in dask.config.get("distributed.nanny.pre-spawn-environ", {}).items()
               if k != "MALLOC_TRIM_THRESHOLD_"}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=processes, memory_limit=memory_limit,
                               dashboard_address=":0")
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


class _Engine:
    """``map`` and ``gather`` over a Dask client, or in this process (``client=None``)."""

    def __init__(self, client: Any = None) -> None:
        self.client = client

    def map(self, fn: Callable, *items: Sequence) -> list:
        if self.client is None:
            return [fn(*args) for args in zip(*items)]
        return self.client.map(fn, *items, pure=False)

    def gather(self, handles: list) -> list:
        return handles if self.client is None else self.client.gather(handles)

    def run(self, fn: Callable, *items: Sequence) -> list:
        return self.gather(self.map(fn, *items))


@contextmanager
def _engine(engine: str, client: Any, scheduler: str | None) -> Iterator[_Engine]:
    check_choice("engine", engine, ENGINES)
    if engine == "pandas":
        yield _Engine(None)
    elif client is not None:
        yield _Engine(client)
    else:
        with connect(scheduler) as c:
            yield _Engine(c)


def _dataset(data: PartitionedDataset | str | Path) -> PartitionedDataset:
    return data if isinstance(data, PartitionedDataset) else open_dataset(data)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Row-wise concatenation that keeps categorical columns categorical (union of categories)."""
    out = pd.concat(frames, ignore_index=True)
    for c in frames[0].columns if frames else []:
        if isinstance(frames[0][c].dtype, pd.CategoricalDtype) and not isinstance(out[c].dtype, pd.CategoricalDtype):
            cats = pd.unique(np.concatenate([np.asarray(f[c].cat.categories, dtype=object) for f in frames]))
            out[c] = pd.Categorical(out[c], categories=cats)
    return out


def _in_source_order(frames: list[pd.DataFrame], positions: list[np.ndarray]) -> pd.DataFrame:
    out = _concat(frames)
    order = np.argsort(np.concatenate(positions), kind="stable")
    return out.iloc[order].reset_index(drop=True)


# ------------------------------------------------------------------------ segmentation

_WILL = {"high": 0.6, "unknown": 0.35, "low": 0.15}
_REACH = {"semi_lost": 0.5, "lost": 0.2}
_DAYS_TO_ROLL = np.array([30, 60, 90])


def _priority_value(features: pd.DataFrame, seg: pd.DataFrame) -> np.ndarray:
    """The value :func:`playbook.segmentation.priority_score` ranks (its docstring's formula).

    Checked against the partition's own ranks in :func:`_segment_part`, so a change of the
    formula there stops the engine instead of giving different priorities.
    """
    will = seg["willingness"].map(_WILL).fillna(0.35).to_numpy()
    reach = seg["contactability"].map(_REACH).fillna(1.0).to_numpy()
    dpd = features["dpd"].to_numpy()
    to_roll = np.min(np.where(_DAYS_TO_ROLL[None, :] >= dpd[:, None], _DAYS_TO_ROLL[None, :] - dpd[:, None], 999), axis=1)
    urgency = np.where(features["promises_pending"].to_numpy() > 0, 1.5, np.where(to_roll <= 5, 1.3, 1.0))
    return features["overdue_amount"].fillna(0).to_numpy() * will * reach * urgency


def _rank(values: np.ndarray) -> np.ndarray:
    return np.round(pd.Series(values).rank(pct=True, method="average").to_numpy() * 100, 1)


def _segment_part(ds: PartitionedDataset, i: int, as_of: str, window_days: int, lang: str) -> dict:
    """Segment partition ``i``; the priority is still the partition's own rank (set in
    :func:`_with_priority` once every partition's values are known)."""
    pf = read_partition(ds, i)
    prep = prepare(pf, as_of, window_days=window_days)
    seg = _segment(prep, window_days=window_days, lang=lang)
    value = _priority_value(prep.features_for(window_days), seg)
    local = np.where(seg["worked"].to_numpy(), _rank(value), 0.0)
    if not np.array_equal(local, seg["priority"].to_numpy()):
        raise RunError("segment", "playbook.segmentation.priority_score no longer ranks the value "
                                  "playbook.distributed._priority_value computes; update the engine")
    return {"segments": seg, "value": value, "positions": read_positions(ds, i, "accounts"),
            "counts": {**{d: seg[d].value_counts(sort=False) for d in ("behaviour_type", "stage")},
                       "team": seg.loc[seg["worked"].to_numpy(dtype=bool), "team"].value_counts(sort=False)}}


def _with_priority(part: dict, rank: np.ndarray) -> pd.DataFrame:
    seg = part["segments"]
    seg["priority"] = np.where(seg["worked"].to_numpy(), rank, 0.0)
    return seg


def _write_part(part: dict, rank: np.ndarray, out: str, i: int) -> int:
    """Set the priority and write the partition's segments (with ``_pos``); the rows written."""
    seg = _with_priority(part, rank)
    seg.assign(_pos=part["positions"]).to_parquet(Path(out) / f"part-{i:05d}.parquet", index=False)
    return len(seg)


def _values(part: dict) -> np.ndarray:
    return part["value"]


def _counts(part: dict) -> dict:
    return part["counts"]


def _positions(part: dict) -> np.ndarray:
    return part["positions"]


def _segment_run(ds: PartitionedDataset, as_of: Any, window_days: int, lang: str, eng: _Engine,
                 out: str | None) -> tuple[list, list]:
    day = str(check_date("as_of", as_of).date())
    check_positive_int("window_days", window_days)
    check_choice("lang", lang, ("zh", "en"))
    idx = list(range(ds.partitions))
    parts = eng.map(_segment_part, [ds] * len(idx), idx, [day] * len(idx), [window_days] * len(idx),
                    [lang] * len(idx))
    values = eng.run(_values, parts)
    rank = _rank(np.concatenate(values)) if values else np.array([])
    bounds = np.cumsum([0] + [len(v) for v in values])
    slices = [rank[bounds[k]:bounds[k + 1]] for k in idx]
    if out is None:
        return parts, eng.map(_with_priority, parts, slices)
    return parts, eng.map(_write_part, parts, slices, [out] * len(idx), idx)


def segment(data: PartitionedDataset | str | Path, as_of: str | pd.Timestamp, *, window_days: int = 90,
            lang: str = "en", engine: str = "dask", scheduler: str | None = None, client: Any = None) -> pd.DataFrame:
    """:func:`playbook.segment` of every account of a partitioned dataset, as one frame.

    Parameters
    ----------
    data : PartitionedDataset, str or Path
        The dataset (see :mod:`playbook.partitioned`).
    as_of : date-like
        The day the segments are computed for.
    window_days : int
        Days of contact history the features look back over.
    lang : {"zh", "en"}
        The language of ``recommended_treatment``.
    engine : {"dask", "pandas"}
        ``"dask"``: the partitions run on a Dask cluster; ``"pandas"``: one after the other here.
    scheduler : str, optional
        The scheduler address (see :func:`connect`).
    client : distributed.Client, optional
        A client to use instead of connecting.

    Returns
    -------
    DataFrame
        Exactly what :func:`playbook.segment` returns for the whole portfolio (rows in the
        source's account order); ``priority`` is ranked over every account.
    """
    ds = _dataset(data)
    with _engine(engine, client, scheduler) as eng:
        parts, done = _segment_run(ds, as_of, window_days, lang, eng, None)
        frames = eng.gather(done)
        positions = eng.run(_positions, parts)
    return _in_source_order(frames, positions)


@dataclass(frozen=True)
class SegmentsWritten:
    """What :func:`write_segments` wrote: the folder, the accounts, and counts per team,
    behavioural type and stage (over every partition)."""

    path: Path
    accounts: int
    counts: dict[str, pd.Series]


def write_segments(data: PartitionedDataset | str | Path, as_of: str | pd.Timestamp, out: str | Path, *,
                   window_days: int = 90, lang: str = "en", engine: str = "dask", scheduler: str | None = None,
                   client: Any = None) -> SegmentsWritten:
    """Segment a partitioned dataset and write one Parquet file per partition, by the workers.

    Nothing but the priority values (one number per account) and counts comes back to
    this process, so the portfolio never has to fit in it. ``out`` receives
    ``part-<i>.parquet`` with the columns of :func:`segment` plus ``_pos`` (the account's
    position in the source); part files of an earlier run there are removed first.
    Parameters as :func:`segment`.

    Returns
    -------
    SegmentsWritten
    """
    ds = _dataset(data)
    out = Path(out)
    if out.suffix:
        raise ArgumentError("out", str(out), "a folder (one Parquet file per partition is written into it)")
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("part-*.parquet"):  # an earlier run's files (maybe more partitions) never mix in
        stale.unlink()
    with _engine(engine, client, scheduler) as eng:
        parts, done = _segment_run(ds, as_of, window_days, lang, eng, str(out.resolve()))
        n = sum(eng.gather(done))
        counts = eng.run(_counts, parts)
    total = {d: _add([c[d].set_axis(c[d].index.astype(object)) for c in counts]).astype(np.int64).sort_values(
        ascending=False, kind="stable") for d in ("team", "behaviour_type", "stage")}
    return SegmentsWritten(out, int(n), total)


# ------------------------------------------------------------------------ KPIs


@dataclass(frozen=True)
class KpiReport:
    """The figures of ``playbook kpis``, combined over the partitions.

    Attributes
    ----------
    table : DataFrame
        :func:`playbook.metrics.kpis` for the whole portfolio.
    roll_counts : DataFrame
        From-bucket x to-bucket account counts over the whole history.
    roll_rates : DataFrame
        Row shares of ``roll_counts`` (:func:`playbook.metrics.roll_rates`).
    quirks : DataFrame
        :func:`playbook.metrics.transition_quirks` for the whole history.
    roll_by_counts : DataFrame or None
        With ``by``: (group, from bucket) x to bucket account counts.
    quirks_by : DataFrame or None
        With ``by``: each quirk counted per group.
    """

    table: pd.DataFrame
    roll_counts: pd.DataFrame
    roll_rates: pd.DataFrame
    quirks: pd.DataFrame
    roll_by_counts: pd.DataFrame | None = None
    quirks_by: pd.DataFrame | None = None

    def roll_by(self) -> tuple[pd.DataFrame, pd.Series]:
        """Per (group, from bucket): the roll rates and the accounts in the from bucket."""
        if self.roll_by_counts is None:
            raise ArgumentError("by", None, "a grouping (the report was computed without --by)")
        c = self.roll_by_counts
        n = c.sum(axis=1)
        c = c[n > 0]
        return c.div(n[n > 0], axis=0), n[n > 0]


_SUMMED = ["accounts", "balance", "overdue", "attempts", "rpc", "contacts", "kept", "broken", "pending", "collected",
           "cost", "accounts_worked"]
_EXTRA = ["rpc_any", "minutes", "fwd", "n", "del", "cured", "self"]


def _group_keys(pf: Any, by: str | None, seg: pd.DataFrame | None) -> pd.Series | None:
    if by is None or by == "month":
        return None
    if by == "status":
        return pd.Series(pf.accounts["status"].to_numpy(), index=pf.accounts["account_id"].to_numpy())
    return pd.Series(seg[by].to_numpy(), index=seg["account_id"].to_numpy())


def _keyed(key: pd.Series | None, ids: pd.Series, months: pd.Series | None, by: str | None) -> pd.Series:
    if by is None:
        return pd.Series("all", index=ids.index)
    if by == "month":
        return pd.Series(months.to_numpy(), index=ids.index)
    return pd.Series(key.reindex(ids).to_numpy(), index=ids.index)


def _kpi_part(ds: PartitionedDataset, i: int, as_of: str, by: str | None, window_days: int) -> dict:
    """Partition ``i``'s pieces of the KPIs (see :func:`_kpi_pieces`)."""
    prep = prepare(read_partition(ds, i), as_of)
    seg = _segment(prep) if by not in (None, "month", "status") and by in prep.playbook.rules else None
    return _kpi_pieces(prep, by, window_days, seg)


def _kpi_pieces(prep: Any, by: str | None, window_days: int, seg: pd.DataFrame | None) -> dict:
    """One partition's summable KPI columns, the numerators the table leaves out, the
    collectors per group (a set: agents work many accounts), and the roll and quirk counts."""
    from .arrays import day_end_ns, local_dates, to_ns

    pf, pb, day, tz = prep.portfolio, prep.playbook, prep.as_of, prep.timezone
    table = _kpis(prep, by=by, window_days=window_days, segments=seg)
    key = _group_keys(pf, by, seg)
    # the window and its pieces exactly as playbook.metrics.kpis cuts them
    cut = day_end_ns(day, tz)
    start = cut - window_days * 86_400_000_000_000
    ts = to_ns(pf.interactions["ts"])
    it = pf.interactions[(ts < cut) & (ts >= start)]
    first_month = (day - pd.Timedelta(days=window_days - 1)).to_period("M").to_timestamp()
    hist = pf.history[(pf.history["month"] >= first_month - pd.DateOffset(months=1))
                      & (pf.history["month"] <= day.to_period("M").to_timestamp())]

    def local_month(s: pd.Series) -> pd.Series:
        return local_dates(s, tz).dt.to_period("M").dt.to_timestamp()

    g_it = _keyed(key, it["account_id"], local_month(it["ts"]) if by == "month" else None, by)
    flag = pb.disposition_flags(it["outcome"], ("rpc", "contact"))
    dur_min = it["duration_s"].fillna(0) / 60
    minutes_per = {a.id: a.minutes_of_collector_time for a in pb.costs.values()}
    channel = it["channel"].astype(object)
    minutes = np.where(it["agent_id"].notna(), np.maximum(channel.map(minutes_per).astype("float64").fillna(0), dur_min), 0.0)
    ev = pd.DataFrame({"g": g_it, "rpc_any": flag["rpc"], "minutes": minutes})
    extra = ev.groupby("g").agg(rpc_any=("rpc_any", "sum"), minutes=("minutes", "sum"))
    agents = pd.DataFrame({"g": g_it, "agent": it["agent_id"]}).dropna().drop_duplicates()
    t = transitions(hist)
    t = t[t["month"] >= first_month]
    tg = _keyed(key, t["account_id"], t["month"] if by == "month" else None, by)
    fwd = t["to_bucket"].cat.codes > t["from_bucket"].cat.codes
    delinquent = t["from_bucket"] != "current"
    cured = delinquent & (t["to_bucket"] == "current")
    contacted = pd.Series(flag["contact"], index=it.index)
    touched = pd.MultiIndex.from_arrays([it.loc[contacted, "account_id"].astype(str),
                                         local_month(it.loc[contacted, "ts"]).astype("datetime64[us]")])
    tk = pd.MultiIndex.from_arrays([t["account_id"].astype(str), pd.Series(t["month"]).astype("datetime64[us]")])
    self_cured = cured & ~pd.Series(tk.isin(touched), index=t.index)
    rc = pd.DataFrame({"g": tg, "fwd": fwd, "n": 1, "del": delinquent, "cured": cured, "self": self_cured}).groupby("g").sum()
    extra = extra.join(rc, how="outer")
    res = {"table": table.drop(columns=[c for c in table.columns if c not in _SUMMED]),
           "extra": extra, "agents": agents, "roll": _roll_pieces(pf, by, key)}
    return res


def _roll_pieces(pf: Any, by: str | None, key: pd.Series | None) -> dict:
    """Roll counts and quirk counts of the whole history, in total and per group (all summable)."""
    h = pf.history
    t = transitions(h)
    f, to = t["from_bucket"].cat.codes.to_numpy(), t["to_bucket"].cat.codes.to_numpy()
    k = len(BUCKETS)
    total = np.bincount(f * k + to, minlength=k * k).reshape(k, k) if len(t) else np.zeros((k, k), dtype=np.int64)
    srt = h.sort_values(["account_id", "month"])
    per = srt["month"].dt.year * 12 + srt["month"].dt.month
    same = srt["account_id"].eq(srt["account_id"].shift())
    gap = (((per - per.shift()) > 1) & same).to_numpy()
    out = {"total": total, "transitions": len(t), "gaps": int(gap.sum())}
    if by is None:
        return out
    g = t["month"] if by == "month" else pd.Series(key.reindex(t["account_id"]).to_numpy(), index=t.index)
    out["by"] = pd.crosstab([g.rename("group"), t["from_bucket"].rename("from")], t["to_bucket"].rename("to"),
                            dropna=False)
    rows = {}
    for a in range(k):
        for b in range(k):
            kind = "skips_forward" if b > a + 1 else ("partial_cure" if 0 < b < a - 1 else None)
            if kind:
                rows[(f"{BUCKETS[a]}>{BUCKETS[b]}", kind)] = g[(f == a) & (to == b)].value_counts()
    hg = srt["month"] if by == "month" else pd.Series(key.reindex(srt["account_id"]).to_numpy(), index=srt.index)
    rows[("missing months", "gap")] = hg[gap].value_counts()
    out["quirks_by"] = rows
    out["groups"] = set(g.dropna()) | set(hg.dropna())
    return out


def _add(frames: list[pd.DataFrame]) -> pd.DataFrame:
    out = frames[0]
    for f in frames[1:]:
        out = out.add(f, fill_value=0)
    return out


def _combine_kpis(parts: list[dict], by: str | None, missing: tuple[str, ...]) -> pd.DataFrame:
    out = _add([p["table"] for p in parts])
    extra = _add([p["extra"] for p in parts])
    out = out.join(extra, how="outer")
    agents = pd.concat([p["agents"] for p in parts], ignore_index=True).drop_duplicates()
    out["collectors"] = agents.groupby("g")["agent"].nunique().reindex(out.index).fillna(0)
    out = out.fillna({c: 0 for c in ["attempts", "rpc", "rpc_any", "contacts", "cost", "minutes", "collectors",
                                     "accounts_worked", "collected", "kept", "broken", "pending"]})
    if by == "month":
        out["overdue"] = np.nan
    out["promises"] = out["kept"] + out["broken"] + out["pending"]

    out = rates_from_counts(out)
    for table in missing:  # figures that need a table the whole dataset lacks are n/a, not 0
        out[list(NEEDS[table])] = np.nan
    out = out.sort_index()
    out.index.name = by or "group"
    return out.reindex(columns=KPI_COLUMNS)


def _combine_roll(parts: list[dict], by: str | None) -> dict:
    rolls = [p["roll"] for p in parts]
    total = sum(r["total"] for r in rolls)
    counts = pd.DataFrame(total.astype("float64"), index=pd.Index(BUCKETS, name="from"), columns=pd.Index(BUCKETS, name="to"))
    tot = counts.sum(axis=1)
    rates = counts.div(tot.where(tot > 0), axis=0)
    n_trans = sum(r["transitions"] for r in rolls)
    f_codes = np.arange(len(BUCKETS))
    rows = []
    for a in f_codes:
        for b in f_codes:
            kind = "skips forward" if b > a + 1 else ("partial cure" if 0 < b < a - 1 else None)
            if kind:
                rows.append({"quirk": f"{BUCKETS[a]}>{BUCKETS[b]}", "kind": kind, "count": int(total[a, b])})
    rows.append({"quirk": "missing months", "kind": "gap", "count": sum(r["gaps"] for r in rolls)})
    quirks = pd.DataFrame(rows)
    quirks["share_of_transitions"] = quirks["count"] / max(n_trans, 1)
    res = {"roll_counts": counts, "roll_rates": rates, "quirks": quirks}
    if by is not None:
        by_counts = _add([r["by"] for r in rolls]).fillna(0).astype(np.int64).sort_index()
        keys = list(rolls[0]["quirks_by"])
        merged = {k: pd.concat([r["quirks_by"][k] for r in rolls]).groupby(level=0).sum() for k in keys}
        groups = sorted(set().union(*(r["groups"] for r in rolls)), key=str)
        qb = pd.DataFrame({k: v.reindex(groups, fill_value=0) for k, v in merged.items()}).T
        res["roll_by_counts"] = by_counts
        res["quirks_by"] = qb.astype(np.int64) if len(qb.columns) else qb
    return res


def kpi_report(data: PartitionedDataset | str | Path, as_of: str | pd.Timestamp, *, by: str | None = None,
               window_days: int = 30, engine: str = "dask", scheduler: str | None = None,
               client: Any = None) -> KpiReport:
    """The KPIs, the roll-rate matrix and the transition quirks of a partitioned dataset.

    Parameters
    ----------
    data : PartitionedDataset, str or Path
        The dataset.
    as_of : date-like
        The last day of the KPI window.
    by : str, optional
        As in :func:`playbook.metrics.kpis`: ``month``, ``status`` or a segment dimension.
    window_days : int
        Length of the KPI window in days.
    engine, scheduler, client
        As in :func:`segment`.

    Returns
    -------
    KpiReport
        The same figures as the single-machine :func:`playbook.metrics.kpis`,
        :func:`~playbook.metrics.roll_rates` and :func:`~playbook.metrics.transition_quirks`
        on the whole portfolio: counts summed, rates recomputed from the summed numerators
        and denominators, collectors counted over the union of the partitions' agents.
    """
    ds = _dataset(data)
    window_days = check_positive_int("window_days", window_days)
    day = str(check_date("as_of", as_of).date())
    pb = load_playbook()
    if by is not None and by not in ("month", "status") and by not in pb.rules:
        check_choice("by", by, ["month", "status"] + list(pb.rules))
    idx = list(range(ds.partitions))
    with _engine(engine, client, scheduler) as eng:
        parts = eng.run(_kpi_part, [ds] * len(idx), idx, [day] * len(idx), [by] * len(idx), [window_days] * len(idx))
    table = _combine_kpis(parts, by, ds.missing)
    roll = _combine_roll(parts, by)
    return KpiReport(table, roll["roll_counts"], roll["roll_rates"], roll["quirks"], roll.get("roll_by_counts"),
                     roll.get("quirks_by"))


def kpis(data: PartitionedDataset | str | Path, as_of: str | pd.Timestamp, *, by: str | None = None,
         window_days: int = 30, engine: str = "dask", scheduler: str | None = None, client: Any = None) -> pd.DataFrame:
    """:func:`playbook.metrics.kpis` of a partitioned dataset (the ``table`` of :func:`kpi_report`)."""
    return kpi_report(data, as_of, by=by, window_days=window_days, engine=engine, scheduler=scheduler,
                      client=client).table


# ------------------------------------------------------------------------ compliance


def _compliance_part(ds: PartitionedDataset, i: int, pack: Pack | str, since: Any) -> dict:
    pf = read_partition(ds, i)
    res = check_compliance(pf, pack, since=since)
    v = res.violations
    pos = read_positions(ds, i, "interactions")
    if len(v):
        v = v.assign(row=pos[v["row"].to_numpy().astype(np.int64)])
    return {"violations": v, "checked": res.checked, "not_checkable": res.not_checkable}


def check_compliance_partitioned(data: PartitionedDataset | str | Path, pack: str | Pack = "cn", *,
                                 since: str | pd.Timestamp | None = None, engine: str = "dask",
                                 scheduler: str | None = None, client: Any = None) -> ComplianceResult:
    """:func:`playbook.check_compliance` of a partitioned dataset's contact log.

    Every rule is checked per account (all of an account's contacts are in one
    partition), so the partitions' violations together are the whole log's; ``row`` is
    the position in the whole interactions table, as the single-machine check reports it.
    Contact plans are checked with the single-machine function.

    Returns
    -------
    ComplianceResult
        ``checked`` is the sum over the partitions.
    """
    ds = _dataset(data)
    p = pack if isinstance(pack, Pack) else get_pack(pack)  # an unknown pack fails here, before any work
    idx = list(range(ds.partitions))
    with _engine(engine, client, scheduler) as eng:
        parts = eng.run(_compliance_part, [ds] * len(idx), idx, [p] * len(idx), [since] * len(idx))
    v = _concat([x["violations"] for x in parts]) if parts else pd.DataFrame()
    v = v.sort_values(["account_id", "row", "rule"], kind="stable").reset_index(drop=True)
    return ComplianceResult(p, v, checked=sum(x["checked"] for x in parts), not_checkable=parts[0]["not_checkable"])


def _headroom_part(ds: PartitionedDataset, i: int, now: Any, pack: Pack) -> tuple[pd.DataFrame, np.ndarray]:
    return _headroom(read_partition(ds, i), now, pack), read_positions(ds, i, "accounts")


def headroom(data: PartitionedDataset | str | Path, now: str | pd.Timestamp, pack: str | Pack = "cn", *,
             engine: str = "dask", scheduler: str | None = None, client: Any = None) -> pd.DataFrame:
    """:func:`playbook.compliance.headroom` of every account of a partitioned dataset (source order)."""
    ds = _dataset(data)
    p = pack if isinstance(pack, Pack) else get_pack(pack)
    idx = list(range(ds.partitions))
    with _engine(engine, client, scheduler) as eng:
        parts = eng.run(_headroom_part, [ds] * len(idx), idx, [now] * len(idx), [p] * len(idx))
    return _in_source_order([f for f, _ in parts], [pos for _, pos in parts])


# ------------------------------------------------------------------------ what-if calibration


def _calibration_part(ds: PartitionedDataset, i: int, as_of: str, window_days: int) -> pd.DataFrame:
    """Partition ``i``'s observations per cell, as :func:`playbook.whatif.calibrate` sums them."""
    prep = prepare(read_partition(ds, i), as_of, window_days=window_days)
    return cell_observations(prep, _segment(prep, window_days=window_days), window_days=window_days)


def calibrate(data: PartitionedDataset | str | Path, as_of: str | pd.Timestamp, *, window_days: int = 90,
              response: ResponseVersion | str | Path | None = None, engine: str = "dask", scheduler: str | None = None,
              client: Any = None) -> ResponseModel:
    """:func:`playbook.whatif.calibrate` of a partitioned dataset.

    Each partition sums its accounts' observations per cell (behavioural type x
    contactability x stage); the sums are added over the partitions and the priors are
    updated once with the totals. The simulation itself works per cell, so a
    :class:`~playbook.whatif.ResponseModel` from here drives :func:`playbook.simulate`
    as one from the single-machine calibration does. ``response``: the response version
    whose priors are updated (see :func:`playbook.whatif.load_response`; default the shipped one).
    """
    ds = _dataset(data)
    day = str(check_date("as_of", as_of).date())
    window_days = check_positive_int("window_days", window_days)
    idx = list(range(ds.partitions))
    with _engine(engine, client, scheduler) as eng:
        parts = eng.run(_calibration_part, [ds] * len(idx), idx, [day] * len(idx), [window_days] * len(idx))
    obs = _add(parts).sort_index()
    rv = response if isinstance(response, ResponseVersion) else load_response(response)
    return model_from_observations(obs, rv)


# ------------------------------------------------------------------------ briefings


def _briefing_part(ds: PartitionedDataset, i: int, as_of: str, pack: Pack, now: str, since: str, until: str) -> dict:
    """Stage 1 of a partition's briefing pieces: everything but what needs the portfolio-wide
    priority and the last month of history (kept on the worker for stage 2)."""
    from .briefing import ACTIVITY_DAYS, queue_only
    from .masking import mask_pii
    from .schema import NOT_WORKED

    pf = read_partition(ds, i)
    bundle = prepare(pf, as_of)
    seg = _segment(bundle)
    value = _priority_value(bundle.features, seg)
    room = _headroom(bundle, pd.Timestamp(now), pack)
    viol = check_compliance(bundle, pack, since=pd.Timestamp(since), until=pd.Timestamp(until)).violations
    it_pos = read_positions(ds, i, "interactions")
    if len(viol):
        viol = viol.assign(row=it_pos[viol["row"].to_numpy().astype(np.int64)])
    cols = [c for c in ("account_id", "balance", "overdue_amount", "dpd", "product", "name", "phone", "timezone")
            if c in pf.accounts]
    t = transitions(pf.history)
    t = t[t["month"] <= bundle.as_of.to_period("M").to_timestamp()]
    return {"bundle": bundle, "segments": seg, "value": value, "positions": read_positions(ds, i, "accounts"),
            "headroom": room, "violations": viol, "accounts": mask_pii(pf.accounts[cols]), "transitions": t,
            "last_month": t["month"].max() if len(t) else None, "interaction_positions": it_pos,
            "kpis": _kpi_pieces(bundle, "team", ACTIVITY_DAYS, queue_only(seg)),
            "not_overdue": int((~seg["worked"] & ~seg["status"].isin(NOT_WORKED)).sum())}


def _briefing_last_month(part: dict) -> Any:
    return part["last_month"]


def _briefing_slices(part: dict, rank: np.ndarray, end: Any, top_n: int, langs: tuple[str, ...]) -> dict:
    """Stage 2: the portfolio-wide priority set, then per team its rows of every piece, the
    local top ``top_n`` with their reasons in words, and the team's book counts of the last month."""
    from .arrays import local_dates
    from .briefing import morning_promises, team_book, violation_teams, with_reasons

    bundle, seg = part["bundle"], part["segments"]
    pb, tz, day = bundle.playbook, bundle.timezone, bundle.as_of
    seg["priority"] = np.where(seg["worked"].to_numpy(), rank, 0.0)
    team = np.where(seg["worked"].to_numpy(), seg["team"].astype(str).to_numpy(), "")
    promises = bundle.promises
    due = promises["ptp_date"].fillna(local_dates(promises["ts"], tz).dt.normalize())  # as morning_promises picks
    picked = (((due == day) & (promises["state"] != "kept"))
              | ((due == day - pd.Timedelta(days=1)) & (promises["state"] == "broken"))).to_numpy()
    morning = morning_promises(promises, day, tz)
    morning_pos = part["interaction_positions"][promises.index.to_numpy()[picked]]
    if len(morning_pos) != len(morning):
        raise RunError("briefings", "playbook.briefing.morning_promises picks other promises than the engine expects")
    t = part["transitions"]
    last = t[t["month"] == end] if end is not None else t.iloc[:0]
    viol_team, queued = violation_teams(seg, part["violations"]["account_id"], pb.teams)
    viol = part["violations"].assign(in_queue=queued)
    k = len(BUCKETS)
    out = {"segments": seg, "kpis": part["kpis"], "not_overdue": part["not_overdue"], "teams": {},
           "no_queue": viol[viol_team == ""], "violations": len(viol)}
    for tid, tm in pb.teams.items():
        m = team == tid
        book = team_book(last, tm)
        counts = np.bincount(book["from_bucket"].cat.codes.to_numpy() * k + book["to_bucket"].cat.codes.to_numpy(),
                             minlength=k * k).reshape(k, k)
        in_team = morning["account_id"].isin(seg.loc[m, "account_id"]).to_numpy()
        out["teams"][tid] = {
            "segments": with_reasons(seg[m], bundle.features, pb, top_n, langs, bundle.portfolio.currency),
            "positions": part["positions"][m],
            "accounts": part["accounts"][m], "headroom": part["headroom"][m],
            "violations": viol[viol_team == tid], "book": counts,
            "promises": morning[in_team], "promise_positions": morning_pos[in_team]}
    return out


def prepare_briefings(data: PartitionedDataset | str | Path, as_of: str | pd.Timestamp, cache_dir: str | Path, *,
                      pack: str | Pack = "cn", now: str | pd.Timestamp | None = None, top_n: int = 20,
                      langs: tuple[str, ...] = ("zh", "en"), engine: str = "dask", scheduler: str | None = None,
                      client: Any = None) -> Path:
    """:func:`playbook.briefing.prepare` of a partitioned dataset: the same files in ``cache_dir``.

    Segments, headroom, the last 7 days' violations, masked accounts, the morning's
    promises and the KPI pieces are computed per partition on the cluster; the priority is
    ranked over all accounts; each team's book counts are summed and its rates
    recomputed; each team's slice is then written once, in the source's account order, so
    the briefing notebook reads it as it reads a single-machine preparation.

    Parameters
    ----------
    data : PartitionedDataset, str or Path
        The dataset.
    as_of : date-like
        The briefing day.
    cache_dir : str or Path
        Where the pieces are written (``segments.parquet``, ``kpis.parquet``,
        ``provenance.json`` and ``teams/<team>/``).
    pack, now, top_n, langs
        As in :func:`playbook.briefing.prepare`.
    engine, scheduler, client
        As in :func:`segment`.

    Returns
    -------
    Path
        ``cache_dir``.
    """
    from . import __version__
    from .atomic import write_json_atomic
    from .briefing import ACTIVITY_DAYS, alert_summary, alert_window, book_figures

    ds = _dataset(data)
    day = check_date("as_of", as_of)
    top_n = check_positive_int("top_n", top_n)
    pb = load_playbook()
    p = pack if isinstance(pack, Pack) else get_pack(pack)
    tz = ds.timezone or pb.timezone
    stamp = pd.Timestamp(now) if now is not None else day + pd.Timedelta(hours=9)
    stamp = stamp.tz_localize(tz) if stamp.tzinfo is None else stamp
    since, until = alert_window(day, tz)
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    idx = list(range(ds.partitions))
    n = len(idx)
    with _engine(engine, client, scheduler) as eng:
        parts = eng.map(_briefing_part, [ds] * n, idx, [str(day.date())] * n, [p] * n, [str(stamp)] * n,
                        [str(since)] * n, [str(until)] * n)
        values = eng.run(_values, parts)
        months = [m for m in eng.run(_briefing_last_month, parts) if m is not None]
        end = max(months) if months else None
        rank = _rank(np.concatenate(values))
        bounds = np.cumsum([0] + [len(v) for v in values])
        done = eng.run(_briefing_slices, parts, [rank[bounds[k]:bounds[k + 1]] for k in idx], [end] * n,
                       [top_n] * n, [tuple(langs)] * n)
        positions = eng.run(_positions, parts)
    seg = _in_source_order([d["segments"] for d in done], positions)
    seg.to_parquet(cache / "segments.parquet", index=False)
    activity = _combine_kpis([d["kpis"] for d in done], "team", ds.missing).reindex(list(pb.teams))
    for tid in pb.teams:
        counts = sum(d["teams"][tid]["book"] for d in done)
        matrix, stats = book_figures(counts) if end is not None else (
            pd.DataFrame(np.nan, index=pd.Index(BUCKETS, name="from"), columns=pd.Index(BUCKETS, name="to")),
            {"roll_forward_rate": np.nan, "cure_rate": np.nan, "book_accounts": 0})
        for k, v in stats.items():
            activity.loc[tid, k] = v
        pieces = [d["teams"][tid] for d in done]
        folder = cache / "teams" / tid
        folder.mkdir(parents=True, exist_ok=True)
        pos = [x["positions"] for x in pieces]
        team_seg = _in_source_order([x["segments"] for x in pieces], pos)
        top = set(team_seg.sort_values(["priority", "account_id"], ascending=[False, True]).head(top_n)["account_id"])
        for c in [f"{kind}_{lang}" for kind in ("reason", "team_reason") for lang in langs]:
            team_seg[c] = team_seg[c].where(team_seg["account_id"].isin(top))  # the partitions' own top accounts
        team_seg.to_parquet(folder / "segments.parquet", index=False)
        _in_source_order([x["accounts"] for x in pieces], pos).to_parquet(folder / "accounts.parquet", index=False)
        _in_source_order([x["headroom"] for x in pieces], pos).to_parquet(folder / "headroom.parquet", index=False)
        viol = _concat([x["violations"] for x in pieces])
        viol.sort_values(["account_id", "row", "rule"], kind="stable").reset_index(drop=True).to_parquet(
            folder / "violations.parquet", index=False)
        matrix.to_parquet(folder / "roll.parquet")
        _in_source_order([x["promises"] for x in pieces], [x["promise_positions"] for x in pieces]).to_parquet(
            folder / "promises.parquet", index=False)
    no_queue = _concat([d["no_queue"] for d in done])
    no_queue.sort_values(["account_id", "row", "rule"], kind="stable").reset_index(drop=True).to_parquet(
        cache / "violations_no_queue.parquet", index=False)
    activity.index.name = "team"
    activity.reset_index().to_parquet(cache / "kpis.parquet", index=False)
    period = None
    if end is not None:
        period = [f"{pd.Timestamp(end) - pd.DateOffset(months=1):%Y-%m}", f"{pd.Timestamp(end):%Y-%m}"]
    write_json_atomic(cache / "provenance.json", {
        "data_path": str(ds.path), "data_sha256": ds.sha256, "inputs": dict(ds.sources), "as_of": str(day.date()),
        "playbook_version": __version__, "content_sha256": pb.content_sha256, "pack": p.id, "timezone": tz,
        "rows": dict(ds.rows), "missing": list(ds.missing), "currency": ds.currency or pb.currency, "roll_period": period,
        "activity_days": ACTIVITY_DAYS, "now": f"{stamp.tz_convert(tz):%Y-%m-%d %H:%M} {tz}",
        "not_overdue": sum(d["not_overdue"] for d in done), "engine": engine, "partitions": ds.partitions,
        "alerts": alert_summary(day, tz, sum(d["violations"] for d in done), len(no_queue))})
    return cache


# ------------------------------------------------------------------------ demo data


def demo_data(out: str | Path, *, n_accounts: int, seed: int = 0, as_of: str | pd.Timestamp = "2026-11-29",
              partitions: int = 8, chunk_accounts: int | None = None, engine: str = "dask",
              scheduler: str | None = None, client: Any = None) -> PartitionedDataset:
    """:func:`playbook.partitioned.write_demo_partitioned` with its chunks generated on the cluster.

    The output is the same as generating the chunks one after the other (the chunk seeds
    and ids do not depend on who runs them). The workers write into ``out``: on a real
    cluster it must be storage every worker and this process see.
    """
    from .partitioned import DEMO_CHUNK

    with _engine(engine, client, scheduler) as eng:
        return write_demo_partitioned(out, n_accounts=n_accounts, seed=seed, as_of=as_of, partitions=partitions,
                                      chunk_accounts=chunk_accounts or DEMO_CHUNK,
                                      map_chunks=lambda fn, items: eng.run(fn, items))
