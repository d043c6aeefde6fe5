"""The content of one team's morning briefing, as data and as escaped HTML fragments.

:func:`prepare` computes the portfolio-wide pieces once (segments, compliance headroom and
alerts, KPIs per team, provenance); :func:`team_briefing` slices them for one team. The
notebook ``notebooks/team_briefing.ipynb`` only calls these and displays the result.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from ._checks import check_choice, check_date, check_positive_int
from .content import Playbook, load_playbook
from ._docstrings import share_docs
from .atomic import write_json_atomic
from .demo import demo_portfolio
from .errors import RunError, UnknownKeyError
from .formatting import punctuation
from .masking import mask_pii
from .portfolio import Portfolio
from .arrays import local_dates
from .prepared import prepare as prepare_bundle
from .schema import BUCKETS, NOT_WORKED

__all__ = ["prepare", "team_briefing", "Briefing", "ui", "write_json_atomic"]

KPI_TILES = [("accounts", "{:,.0f}"), ("balance", "{:,.0f}"), ("rpc_rate", "{:.1%}"), ("ptp_rate", "{:.1%}"),
             ("ptp_kept_rate", "{:.1%}"), ("collected", "{:,.0f}"), ("cost_to_collect", "{:.1%}"),
             ("roll_forward_rate", "{:.1%}"), ("cure_rate", "{:.1%}")]


def ui(key: str, lang: str, playbook: Playbook | None = None) -> str:
    """The briefing label ``key`` (``briefing.<key>`` in ``ui.yaml``) in ``lang``."""
    return (playbook or load_playbook()).text(f"briefing.{key}", lang)


@share_docs
def prepare(data_path: "str | Path | Portfolio | None", as_of: str | pd.Timestamp, cache_dir: str | Path, *,
            pack: str = "cn", mapping: str | Path | None = None, now: str | pd.Timestamp | None = None,
            top_n: int = 20, langs: tuple[str, ...] = ("zh", "en"), playbook: Playbook | None = None) -> Path:
    """Compute the portfolio-wide pieces of every team's briefing once, into ``cache_dir``.

    Parameters
    ----------
    data_path : str, Path, Portfolio or None
        A source for :func:`playbook.load_portfolio`, a loaded portfolio, or ``None`` for
        the built-in demo portfolio (5,000 accounts, seed 7, as in ``make briefings``).
    {as_of}
    cache_dir : str or Path
        Where the pieces are written.
    {pack}
    mapping : str or Path, optional
        The mapping YAML of a foreign export.
    now : timestamp, optional
        The moment contact headroom is planned from; a naive value is read in the business
        time zone. Default: 09:00 on the as-of day.
    top_n : int
        How many accounts per team (by priority) get their reason text written out.
    langs : tuple of {"zh", "en"}
        The languages the reason texts are written in (the pages' languages).
    {playbook}

    Returns
    -------
    Path
        ``cache_dir``, holding ``segments.parquet`` (all accounts), ``kpis.parquet`` (per
        team), ``provenance.json``, and per team ``teams/<team>/`` with its segments,
        accounts (personal data masked), compliance headroom, violations of the last 7
        days and roll-rate matrix.

    Notes
    -----
    Features, promise states and the prepared contact log are derived once, in one
    :class:`playbook.prepared.Prepared` bundle shared by segmentation, KPIs, headroom and
    the compliance check.
    """
    from concurrent.futures import ThreadPoolExecutor

    from .compliance import check_compliance, headroom
    from .loading import load_portfolio
    from .metrics import kpis
    from .segmentation import segment

    day = check_date("as_of", as_of)
    pb = playbook or load_playbook()
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    if isinstance(data_path, Portfolio):
        pf = data_path
    elif data_path is None:
        pf = demo_portfolio(5000, 7, day)
    else:
        pf = load_portfolio(data_path, mapping)
    bundle = prepare_bundle(pf, day, playbook=pb)
    tz = bundle.timezone
    now = pd.Timestamp(now) if now is not None else day + pd.Timedelta(hours=9)
    now = now.tz_localize(tz) if now.tzinfo is None else now
    since, until = alert_window(day, tz)

    def compliance_part() -> tuple[pd.DataFrame, pd.DataFrame]:
        room = headroom(bundle, now, pack, playbook=pb)
        return room, check_compliance(bundle, pack, since=since, until=until, playbook=pb).violations

    # compliance does not depend on the segments: compute both at once (Arrow/NumPy release the GIL)
    with ThreadPoolExecutor(max_workers=1) as side:
        comp = side.submit(compliance_part)
        seg = segment(bundle)
        seg.to_parquet(cache / "segments.parquet", index=False)
        activity = kpis(bundle, by="team", segments=queue_only(seg))
        room, viol = comp.result()
    cols = [c for c in ("account_id", "balance", "overdue_amount", "dpd", "product", "name", "phone", "timezone")
            if c in pf.accounts]
    acc = mask_pii(pf.accounts[cols])
    # accounts not to be worked (paid off, closed, settled, sold, ...) join no team's queue
    team = np.where(seg["worked"].to_numpy(), seg["team"].astype(str).to_numpy(), "")
    books, period = _team_books(pf.history, day, pb)
    promises = morning_promises(bundle.promises, day, tz)
    activity = activity.reindex(list(pb.teams))
    for t, (_, stats) in books.items():
        for k, v in stats.items():
            activity.loc[t, k] = v
    activity.index.name = "team"
    activity.reset_index().to_parquet(cache / "kpis.parquet", index=False)
    viol_team, queued = violation_teams(seg, viol["account_id"], pb.teams)
    viol = viol.assign(in_queue=queued)
    viol[viol_team == ""].to_parquet(cache / "violations_no_queue.parquet", index=False)
    # one small folder per team, so each team's notebook reads only its own slice
    for t in pb.teams:
        d = cache / "teams" / t
        d.mkdir(parents=True, exist_ok=True)
        m = team == t
        with_reasons(seg[m], bundle.features, pb, top_n, langs, bundle.portfolio.currency).to_parquet(
            d / "segments.parquet", index=False)
        acc[m].to_parquet(d / "accounts.parquet", index=False)
        room[m].to_parquet(d / "headroom.parquet", index=False)
        viol[viol_team == t].to_parquet(d / "violations.parquet", index=False)
        books[t][0].to_parquet(d / "roll.parquet")
        promises[promises["account_id"].isin(seg.loc[m, "account_id"])].to_parquet(d / "promises.parquet", index=False)
    write_json_atomic(cache / "provenance.json", {
        "data_path": str(data_path), "data_sha256": pf.sha256, "inputs": pf.sources, "as_of": str(day.date()),
        "playbook_version": __version__, "content_sha256": pb.content_sha256, "pack": pack, "timezone": tz,
        "rows": {t: len(f) for t, f in pf.tables().items()}, "missing": list(pf.missing),
        "currency": bundle.portfolio.currency or pb.currency, "roll_period": period, "activity_days": ACTIVITY_DAYS, "now": f"{now.tz_convert(tz):%Y-%m-%d %H:%M} {tz}",
        "not_overdue": int((~seg["worked"] & ~seg["status"].isin(NOT_WORKED)).sum()),
        "alerts": alert_summary(day, tz, len(viol), int((viol_team == "").sum()))})
    return cache


def alert_window(day: pd.Timestamp, tz: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The compliance alerts' period: the 7 days to the as-of ``day``, from 00:00 six days
    before it to 00:00 the day after, in the business time zone ``tz`` (``[since, until)``)."""
    return (day - pd.Timedelta(days=6)).tz_localize(tz), (day + pd.Timedelta(days=1)).tz_localize(tz)


def alert_summary(day: pd.Timestamp, tz: str, total: int, no_queue: int) -> dict:
    """The provenance's record of the alerts: the period (first and last day, zone), every
    violation found in it, and how many of them are on accounts in no team's queue."""
    return {"since": str((day - pd.Timedelta(days=6)).date()), "until": str(day.date()), "timezone": tz,
            "total": int(total), "no_queue": int(no_queue)}


def violation_teams(seg: pd.DataFrame, account_ids: "pd.Series | list[str]",
                    teams: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per violation, the team whose page shows it and whether its account is in today's queue.

    A violation is a fact about a contact that was made, whoever's queue the account is in
    today: it goes to the team the routing rules give the account (``segment``'s ``team``,
    which every account has, worked today or not: a current account is routed by its days
    past due), and to ``""`` (the index's "accounts in no queue" line) when the account has
    no team of ``teams`` or is not in ``seg``. So every violation of the period is counted
    once, on a team's page or on that line.
    """
    routed = seg["team"].astype(str).to_numpy()
    team_of = pd.Series(np.where(np.isin(routed, list(teams)), routed, ""), index=seg["account_id"].to_numpy())
    worked = pd.Series(seg["worked"].to_numpy(dtype=bool), index=seg["account_id"].to_numpy())
    ids = pd.Index(account_ids)
    return (team_of.reindex(ids).fillna("").to_numpy(dtype=object),
            worked.reindex(ids).fillna(False).to_numpy(dtype=bool))


ACTIVITY_DAYS = 30
MONEY_TILES = ("balance", "collected")


def queue_only(seg: pd.DataFrame) -> pd.DataFrame:
    """``seg`` with no team for the accounts not worked today (not overdue, paid off, closed,
    settled, sold), so a team's activity tiles count today's queue, as they say: an account
    that is current today is routed to a team by its days past due (0) but is in no queue."""
    return seg.assign(team=seg["team"].where(seg["worked"].to_numpy()))


def team_book(last: pd.DataFrame, team: Any) -> pd.DataFrame:
    """The rows of ``last`` (one month's transitions) that are the team's book: the accounts
    in the team's buckets (``teams.yaml``) at the start of the month.

    A team routed by other attributes (skip-trace, care: ``buckets: []``) has no book: its
    roll and cure rates are n/a. Any book chosen by today's routing would hold only the
    accounts still delinquent today, so none of it could have cured (0% cure, 100% roll by
    construction).
    """
    if not team.buckets:
        return last.iloc[:0]
    return last[last["from_bucket"].astype(str).isin(team.buckets).to_numpy()]


def with_reasons(seg: pd.DataFrame, features: pd.DataFrame, pb: Playbook, top_n: int,
                  langs: tuple[str, ...] = ("zh", "en"), currency: str | None = None) -> pd.DataFrame:
    """``seg`` with, for the team's top accounts, why they are where they are, in words
    (:mod:`playbook.reasons`): ``reason_zh`` / ``reason_en`` why the behavioural type (the
    cues that fired, or the gate rule, with the account's values) and ``team_reason_*``
    why the team (the ``because`` text of the team rule that fired); missing for the rest.
    Amounts are named in ``currency`` (the portfolio's; by default the playbook's)."""
    from .reasons import explain_many, type_text

    out = seg.copy()
    top = seg.sort_values(["priority", "account_id"], ascending=[False, True]).head(top_n)
    f = features.reindex(top["account_id"])
    for lang in langs:  # one-row slices: each explanation reads only its own account
        texts = {a: type_text(top.iloc[i:i + 1], f.iloc[i:i + 1], a, lang, pb, most=3, currency=currency)
                 for i, a in enumerate(top["account_id"])}
        out[f"reason_{lang}"] = out["account_id"].map(texts)
        team = explain_many(top, features, lang, pb, dimensions=["team"], currency=currency)["team"]
        out[f"team_reason_{lang}"] = out["account_id"].map(dict(zip(top["account_id"], team)))
    return out


def morning_promises(promises: pd.DataFrame, day: pd.Timestamp, tz: str) -> pd.DataFrame:
    """Promises to pay due on ``day`` (not yet kept) and promises broken the day before."""
    due = promises["ptp_date"].fillna(local_dates(promises["ts"], tz).dt.normalize())
    today = (due == day) & (promises["state"] != "kept")
    yesterday = (due == day - pd.Timedelta(days=1)) & (promises["state"] == "broken")
    out = promises.loc[today | yesterday, ["account_id", "ptp_amount"]].copy()
    out["due"] = due[today | yesterday].to_numpy()
    out["kind"] = np.where(today[today | yesterday].to_numpy(), "due_today", "broken_yesterday")
    return out.reset_index(drop=True)


def assign_collectors(minutes: pd.Series, collectors: pd.Series) -> pd.Series:
    """Split accounts across collectors by capacity, in the order given (priority first).

    Parameters
    ----------
    minutes : Series
        Minutes each account needs today, indexed by account and in priority order; 0 or
        missing means the account is not worked today.
    collectors : Series
        Minutes each collector has today, indexed by collector id.

    Returns
    -------
    Series
        The collector of each account, ``None`` when no collector has the minutes left.
        Each account goes to the collector with the most minutes left (ties: the first
        listed), so no collector is given more than their capacity.
    """
    left = collectors.astype("float64").to_dict()
    out = pd.Series(None, index=minutes.index, dtype=object)
    for account, need in minutes.items():
        if not need or pd.isna(need) or not left:
            continue
        who = max(left, key=lambda c: left[c])
        if left[who] >= need:
            out[account] = who
            left[who] -= need
    return out


def _roster(pb: Playbook, team: str, roster: str | Path | None, lang: str = "en") -> pd.Series:
    """Minutes per collector today: the roster file's rows for ``team`` (columns ``team``,
    ``collector``, ``minutes``), else ``collectors`` x ``hours_per_day`` of ``teams.yaml``."""
    if roster is not None:
        from .errors import SourceError

        try:
            r = pd.read_csv(roster, dtype={"team": str, "collector": str})
            r = r[r["team"] == team]
            return pd.Series(r["minutes"].astype("float64").to_numpy(), index=r["collector"].to_numpy())
        except (OSError, KeyError, ValueError) as exc:
            raise SourceError(str(roster), f"roster must be a CSV with columns team, collector, minutes ({exc})") from None
    t = pb.teams[team]
    who = ui("collector", lang, pb)
    sep = "" if lang == "zh" else " "
    return pd.Series(t.hours_per_day * 60.0, index=[f"{who}{sep}{i + 1:02d}" for i in range(t.collectors)])
# What each tile counts: the queue today, the queue's activity over the last ACTIVITY_DAYS,
# or the team's book over the last month of history (see _team_books).
TILE_SCOPE = {"accounts": "queue", "balance": "queue", "rpc_rate": "activity", "ptp_rate": "activity",
              "ptp_kept_rate": "activity", "collected": "activity", "cost_to_collect": "activity",
              "roll_forward_rate": "book", "cure_rate": "book"}


def _team_books(history: pd.DataFrame, day: pd.Timestamp,
                pb: Playbook) -> tuple[dict[str, tuple[pd.DataFrame, dict]], list[str] | None]:
    """Roll and cure rates of each team's book over the last month of history up to ``day``.

    A team's book is the accounts in the team's buckets (``teams.yaml``) at the start of
    the period (:func:`team_book`; none for a team routed by other attributes). ``roll_forward_rate`` = accounts of the book in a
    worse bucket at the end / accounts of the book that could get worse (not already in
    the last bucket, M3+; n/a for a book of M3+ accounts only); ``cure_rate`` = accounts of the book
    current at the end / accounts of the book. The heatmap is the same book's row shares,
    so the tiles and the heatmap agree. Returns per team ``(matrix, figures)`` and the
    period ``[start month, end month]`` (``None`` without history).
    """
    from .metrics import transitions

    t = transitions(history)
    t = t[t["month"] <= day.to_period("M").to_timestamp()]
    out: dict[str, tuple[pd.DataFrame, dict]] = {}
    if t.empty:
        empty = pd.DataFrame(np.nan, index=pd.Index(BUCKETS, name="from"), columns=pd.Index(BUCKETS, name="to"))
        return {k: (empty, {"roll_forward_rate": np.nan, "cure_rate": np.nan, "book_accounts": 0}) for k in pb.teams}, None
    end = t["month"].max()
    last = t[t["month"] == end]
    start = (pd.Timestamp(end) - pd.DateOffset(months=1))
    for tid, team in pb.teams.items():
        book = team_book(last, team)
        counts = pd.crosstab(book["from_bucket"], book["to_bucket"], dropna=False).reindex(
            index=list(BUCKETS), columns=list(BUCKETS), fill_value=0)
        out[tid] = book_figures(counts.to_numpy())
    return out, [f"{start:%Y-%m}", f"{pd.Timestamp(end):%Y-%m}"]


def book_figures(counts: np.ndarray) -> tuple[pd.DataFrame, dict]:
    """A team book's roll matrix (row shares) and its tiles, from its from x to bucket counts
    (rows and columns in :data:`playbook.schema.BUCKETS` order; counts of partitions add up).

    ``roll_forward_rate`` = accounts in a worse bucket at the end / accounts that could get
    worse (not already in the last bucket; n/a when none could); ``cure_rate`` = accounts
    current at the end / accounts of the book; ``book_accounts`` = accounts of the book.
    """
    from .schema import BUCKETS

    frame = pd.DataFrame(counts, index=pd.Index(BUCKETS, name="from"), columns=pd.Index(BUCKETS, name="to"))
    tot = frame.sum(axis=1)
    matrix = frame.div(tot.where(tot > 0), axis=0).astype("float64")
    n = int(counts.sum())
    worse = int(np.triu(counts, 1).sum())
    can_worsen = n - int(counts[-1].sum())
    cured = int(counts[:, 0].sum())
    return matrix, {"roll_forward_rate": worse / can_worsen if can_worsen else np.nan,
                    "cure_rate": cured / n if n else np.nan, "book_accounts": n}


@dataclass
class Briefing:
    """Everything one team's page shows."""

    team: str
    lang: str
    as_of: pd.Timestamp
    provenance: dict
    queue: pd.DataFrame
    kpis: pd.Series
    previous: dict | None
    roll: pd.DataFrame
    segments: pd.DataFrame
    worklist: pd.DataFrame
    alerts: pd.DataFrame
    blocked: int | None  # accounts with no calls left today; None: unknown (no contact log)
    pack: str
    playbook: Playbook = field(repr=False)
    promises: pd.DataFrame = field(default_factory=pd.DataFrame)
    collectors: pd.DataFrame = field(default_factory=pd.DataFrame)
    call_minutes: float = 0.0
    openers: list = field(default_factory=list)  # the openers the worklist uses, in order

    def _ui(self, key: str, lang: str) -> str:
        return self.playbook.text(f"briefing.{key}", lang)

    # ---------------------------------------------------------------- HTML fragments
    def header_html(self) -> str:
        L = self.lang
        p = self.provenance
        team = self.playbook.dimension("team").category(self.team)
        colon = punctuation(L).colon
        return (f"<h1>{html.escape(self._ui('title', L))}{colon}{html.escape(team.name(L))}</h1>"
                f"<p><b>{self._ui('as_of', L)}</b> {self.as_of.date()} &nbsp; <b>{self._ui('version', L)}</b> "
                f"{html.escape(str(p.get('playbook_version')))} ({html.escape(self._ui('content_version', L))} {html.escape(str(p.get('content_sha256', ''))[:12])})"
                f"<br><b>{self._ui('provenance', L)}</b> sha256 {html.escape(str(p.get('data_sha256', '')))}</p>"
                + "".join(f"<p class='notice'>{html.escape(self.playbook.text(f'missing.{t}', L))}</p>"
                          for t in p.get("missing", [])))

    def queue_html(self) -> str:
        """Accounts by type and stage, with the balance (currency in the header)."""
        q = self.queue.reset_index()
        n = self._ui("accounts", self.lang)
        q.columns = [c if i == 0 or i == len(q.columns) - 1 else
                     (f"{c}{n}" if self.lang == "zh" else f"{n}, {c}") for i, c in enumerate(q.columns)]
        return _table_html(q, "queue")

    def kpi_tiles_html(self) -> str:
        """The KPI tiles, each with its period and population, and the change against the
        previous briefing (percentage points for rates)."""
        L = self.lang
        p = self.provenance
        period = p.get("roll_period")
        buckets = list(self.playbook.teams[self.team].buckets)
        named = "、".join(buckets) if L == "zh" else ", ".join(buckets)
        scope = {
            "queue": self._ui("period_queue", L),
            "activity": self._ui("period_activity", L).format(days=p.get("activity_days", ACTIVITY_DAYS),
                                                                date=self.as_of.date()),
            "book": (self._ui("no_book", L) if not buckets else
                     self._ui("period_book", L).format(start=period[0], end=period[1], buckets=named,
                                                       n=f"{int(self.kpis.get('book_accounts', 0) or 0):,}")
                     if period else self._ui("no_history", L)),
        }
        last = bool(buckets) and all(b == BUCKETS[-1] for b in buckets)  # nothing beyond the team's buckets
        tiles = []
        for key, fmt in KPI_TILES:
            v = self.kpis.get(key, np.nan)
            text = "n/a" if pd.isna(v) else fmt.format(v)
            where = scope[TILE_SCOPE[key]]
            if key == "roll_forward_rate" and last and pd.isna(v):
                where = self._ui("roll_last_bucket", L).format(buckets=named)
            unit = (f" <small>{html.escape(_currency(p, self.playbook, L))}</small>"
                    if key in MONEY_TILES and not pd.isna(v) else "")
            prev = (self.previous or {}).get(key)
            if prev is None or pd.isna(v) or (isinstance(prev, float) and np.isnan(prev)):
                delta = self._ui("no_prev", L)
            elif "%" in fmt:
                delta = f"{self._ui('vs_prev', L)} {(v - prev) * 100:+.1f} {self._ui('pp', L)}"
            else:
                delta = f"{self._ui('vs_prev', L)} {v - prev:+,.0f}"
            tiles.append(f"<div class='tile'><div class='k'>{html.escape(self.playbook.text(f'kpi.{key}', L))}</div>"
                         f"<div class='v'>{html.escape(text)}{unit}</div><div class='p'>{html.escape(where)}</div>"
                         f"<div class='d'>{html.escape(delta)}</div></div>")
        return "<style>.tile{display:inline-block;vertical-align:top;border:1px solid #ccc;padding:6px 10px;margin:3px;" \
               "width:170px}.tile .v{font-size:1.4em;font-weight:bold;white-space:nowrap}.tile .v small{font-size:.6em;font-weight:normal}.tile .d,.tile .p{color:#666;font-size:.8em}" \
               "</style>" + "".join(tiles) + f"<p class='note'>{html.escape(self._ui('kpi_defs', L))}</p>"

    def book_note(self) -> str | None:
        """Why the team has no roll-rate book, when it has none: not routed by bucket, or no
        monthly history (``None``: it has one)."""
        if not self.playbook.teams[self.team].buckets:
            return self._ui("no_book", self.lang)
        if not self.provenance.get("roll_period"):
            return self._ui("no_history_na", self.lang)
        return None

    def worklist_html(self) -> str:
        """The worklist: text left-aligned, numbers right-aligned, the "now" it assumes stated."""
        L = self.lang
        now = self.provenance.get("now", "")
        note = "".join(f"<p class='note'>{html.escape(t)}</p>"
                       for t in (self._ui("now_stated", L).format(now=now), self._ui("priority_def", L)))
        return note + _table_html(self.worklist, "worklist", wide=(self._ui("reason", L), self._ui("approach", L)))

    def openers_html(self) -> str:
        """The openers the worklist names, each once, in the order they are said: who is
        calling and for which creditor, the right-party check, then the purpose."""
        L = self.lang
        if not self.openers:
            return ""
        op = self.playbook.openers
        creditor = op.creditor(L)
        steps = [self._ui("step_identify", L), self._ui("step_verify", L), self._ui("step_purpose", L)]
        parts = [f"<p class='note'>{html.escape(self._ui('openers_note', L))}</p>"]
        for o in self.openers:
            said = [o.identify(L).format(creditor=creditor), o.verify(L), o.purpose(L)]
            items = "".join(f"<li><b>{html.escape(k)}</b> {html.escape(t)}</li>" for k, t in zip(steps, said))
            parts.append(f"<h4>{html.escape(o.name(L))}</h4><ul style='list-style:none;padding-left:1em'>{items}</ul>")
        return "".join(parts)

    def promises_html(self) -> str:
        """Promises due today and promises broken yesterday, per account."""
        L = self.lang
        if "interactions" in self.provenance.get("missing", []):  # promises are contacts: none are known
            return "".join(f"<h3>{html.escape(self._ui(key, L))}</h3>" for key in ("promises_due", "promises_broken")) \
                + f"<p class='notice'>{html.escape(self._ui('promises_unknown', L))}</p>"
        parts = []
        for kind, key in (("due_today", "promises_due"), ("broken_yesterday", "promises_broken")):
            rows = self.promises[self.promises["kind"] == kind] if len(self.promises) else self.promises
            parts.append(f"<h3>{html.escape(self._ui(key, L))} ({len(rows)})</h3>")
            if len(rows):
                shown = pd.DataFrame({self._ui("account", L): rows["account_id"].to_numpy(),
                                      _unit(self._ui('promised', L), _currency(self.provenance, self.playbook, L), L):
                                          rows["ptp_amount"].to_numpy(),
                                      self._ui("when", L): pd.to_datetime(rows["due"]).dt.strftime("%Y-%m-%d").to_numpy()})
                parts.append(_table_html(shown, "promises"))
            else:
                parts.append(f"<p>{html.escape(self._ui('no_promises', L))}</p>")
        return "".join(parts)

    def collectors_html(self) -> str:
        """Accounts and minutes given to each collector, against their capacity."""
        L = self.lang
        c = self.collectors
        shown = pd.DataFrame({self._ui("collector", L): c.index.to_numpy(), self._ui("assigned", L): c["accounts"].astype(int).to_numpy(),
                              self._ui("minutes", L): c["minutes"].to_numpy(), self._ui("capacity", L): c["capacity"].to_numpy()})
        note = self._ui("collectors_note", L).format(m=f"{self.call_minutes:g}")
        return f"<p class='note'>{html.escape(note)}</p>" + _table_html(shown, "collectors")

    def alerts_html(self) -> str:
        from .compliance import detail_column

        L = self.lang
        if "interactions" in self.provenance.get("missing", []):
            out = f"<p>{html.escape(self.playbook.text('missing.nothing_to_check', L))}</p>"
        elif self.alerts.empty:
            out = f"<p>{html.escape(self._ui('no_alerts', L))}</p>"
        else:
            pack = self.playbook.pack(self.pack)
            text = {r: pack.rule(r).text(L) for r in self.alerts["rule"].unique()}
            counts = self.alerts.groupby("rule").size()
            table = pd.DataFrame({self._ui("rule", L): [text[r] for r in counts.index],
                                  self._ui("count", L): counts.to_numpy()})
            head = self.alerts.head(20)
            shown = pd.DataFrame({self._ui("rule", L): head["rule"].map(text).to_numpy(),
                                  self._ui("account", L): head["account_id"].astype(str).to_numpy(),
                                  self._ui("when", L): head["ts"].astype(str).to_numpy()})
            shown[self._ui("detail", L)] = head[detail_column(L)].astype(str).to_numpy()
            n = int((~self.alerts["in_queue"].astype(bool)).sum()) if "in_queue" in self.alerts else 0
            if n:  # shown too: the contact happened, whatever the account's queue is today
                queued = head["in_queue"].astype(bool).to_numpy()
                shown.insert(2, self._ui("queue_today", L),
                             np.where(queued, self._ui("in_queue", L), self._ui("not_in_queue", L)))
            out = _table_html(table, "alert-counts") + _table_html(shown, "alerts")
            if n:
                out = f"<p class='note'>{html.escape(self._ui('alerts_not_queued', L).format(n=n))}</p>" + out
        w = self.provenance.get("alerts")
        if w and "interactions" not in self.provenance.get("missing", []):
            out = (f"<p class='note'>{html.escape(self._ui('alerts_window', L).format(since=w['since'], until=w['until'], zone=w['timezone']))}</p>"
                   + out)
        colon = punctuation(L).colon
        blocked = self._ui("no_log_na", L) if self.blocked is None else f"{self.blocked:,}"
        return out + f"<p>{html.escape(self._ui('blocked', L))}{colon}{html.escape(blocked)}</p>"

    def section_html(self) -> str:
        L = self.lang
        pb = self.playbook
        team = pb.dimension("team").category(self.team)
        parts = [f"<h3>{html.escape(team.name(L))}</h3><p>{html.escape(team.description(L))}</p>",
                 _bullets(self._ui("tactics", L), [t(L) for t in team.tactics]), _bullets(self._ui("avoid", L), [t(L) for t in team.avoid])]
        common = self.segments["behaviour_type"].astype(str).value_counts()
        bt = pb.dimension("behaviour_type")
        for cid in [c for c in common.index if c != "unclassified"][:3]:
            c = bt.category(cid)
            parts.append(f"<h4>{html.escape(c.name(L))} ({int(common[cid])})</h4><p>{html.escape(c.description(L))}</p>")
            parts.append(_bullets(self._ui("tactics", L), [t(L) for t in c.tactics]))
            parts.append(_bullets(self._ui("avoid", L), [t(L) for t in c.avoid]))
        sep = "；" if L == "zh" else "; "
        # the sources of the briefing's own rule pack, each with its note in the page's language
        rows = "".join(f"<tr><td>{html.escape(p.name(L))}</td><td>{html.escape(p.why_forbidden(L))}</td>"
                       f"<td>{html.escape(p.do_instead(L))}</td><td>"
                       f"{html.escape(sep.join(_cited(s, L) for s in p.sources_for(self.pack)) or '-')}</td></tr>"
                       for p in pb.prohibited)
        parts.append(f"<h4>{html.escape(self._ui('red_lines', L))}</h4><table class='pb'><tr><th>{html.escape(self._ui('practice', L))}</th>"
                     f"<th>{html.escape(self._ui('why', L))}</th>"
                     f"<th>{html.escape(self._ui('instead', L))}</th><th>{html.escape(self._ui('source', L))}</th></tr>{rows}</table>")
        return "".join(parts)

    def sidecar(self) -> dict:
        """What the next briefing compares its KPI tiles against."""
        return {"team": self.team, "as_of": str(self.as_of.date()), "lang": self.lang,
                "kpis": {k: (None if pd.isna(self.kpis.get(k, np.nan)) else float(self.kpis.get(k)))
                         for k, _ in KPI_TILES},
                "worklist_accounts": self.worklist.iloc[:, 1].tolist() if len(self.worklist) else []}


_PAGE_CSS = ("<style>table.pb{border-collapse:collapse;font-size:.9em;table-layout:auto}table.pb th,table.pb td"
             "{padding:4px 8px;border-bottom:1px solid #e3e3e3;vertical-align:top;text-align:left!important}"
             "table.pb td.num,table.pb th.num{text-align:right!important;white-space:nowrap}"
             "table.pb td{min-width:4em;max-width:24em;white-space:normal}table.pb th.wide{min-width:20em}"
             ".scroll{overflow-x:auto;max-width:100%}.note{color:#555;font-size:.85em}</style>")


def _table_html(frame: pd.DataFrame, css: str, wide: tuple[str, ...] = ()) -> str:
    """An escaped HTML table: text columns left-aligned, numeric columns right-aligned; the
    ``wide`` columns (long texts, e.g. the reasons) at least 20em wide. A table wider than the
    page scrolls sideways instead of overflowing it."""
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c]) for c in frame.columns]
    head = "".join(f"<th class='{'num' if n else 'wide' if c in wide else 'txt'}'>{html.escape(str(c))}</th>"
                   for c, n in zip(frame.columns, numeric))
    body = []
    for row in frame.itertuples(index=False):
        cells = []
        for v, n in zip(row, numeric):
            if n:
                text = "n/a" if pd.isna(v) else (f"{v:,.0f}" if float(v).is_integer() or abs(v) >= 1000 else f"{v:,.1f}")
                cells.append(f"<td class='num'>{text}</td>")
            else:
                cells.append(f"<td>{html.escape('' if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f"{_PAGE_CSS}<div class='scroll'><table class='pb {css}'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></div>")


def _cited(source: Any, lang: str) -> str:
    """A legal source as a page cites it: the citation, then what it says in ``lang``."""
    return f"{source.citation}（{source.note(lang)}）" if lang == "zh" else f"{source.citation} ({source.note(lang)})"


def _bullets(title: str, items: list[str]) -> str:
    return f"<p><b>{html.escape(title)}</b></p><ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>"


def _wait_for(prep: Path, seconds: float) -> None:
    import time

    deadline = time.monotonic() + seconds
    while True:
        if (prep / "prepare_failed.txt").exists():
            raise RunError("preparing the portfolio", (prep / "prepare_failed.txt").read_text(encoding="utf-8"))
        if (prep / "provenance.json").exists() or time.monotonic() >= deadline:
            return
        time.sleep(0.05)


def _previous_kpis(out_dir: Path | None, team: str, day: pd.Timestamp) -> dict | None:
    if out_dir is None:
        return None
    root = Path(out_dir).parent
    best = None
    for side in root.glob(f"*/{team}.json"):
        try:
            data = json.loads(side.read_text(encoding="utf-8"))
            when = pd.Timestamp(data["as_of"])
        except (OSError, ValueError, KeyError):
            continue
        if when < day and (best is None or when > best[0]):
            best = (when, data.get("kpis"))
    return best[1] if best else None


def team_briefing(data_path: str | Path, as_of: str | pd.Timestamp, team: str, *, lang: str = "zh",
                  top_n: int = 20, prepared: str | Path | None = None, out_dir: str | Path | None = None,
                  pack: str = "cn", wait_prepared: float = 0, roster: str | Path | None = None,
                  playbook: Playbook | None = None) -> Briefing:
    """Assemble one team's briefing. Uses ``prepared`` (from :func:`prepare`) when given,
    else computes it into ``out_dir``/``.prepared``. With ``wait_prepared`` > 0 it waits
    that many seconds for a ``prepare`` still running elsewhere (the briefing runner)."""
    day = check_date("as_of", as_of)
    check_choice("lang", lang, ("zh", "en"))
    top_n = check_positive_int("top_n", top_n)
    pb = playbook or load_playbook()
    if team not in pb.teams:
        raise UnknownKeyError("team", team, pb.teams)
    if prepared is None:
        import tempfile

        base = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="briefing-"))
        prepared = prepare(data_path, day, base / ".prepared", pack=pack, top_n=top_n, playbook=pb)
    prep = Path(prepared)
    _wait_for(prep, wait_prepared)
    prov = json.loads((prep / "provenance.json").read_text(encoding="utf-8"))
    td = prep / "teams" / team
    seg = pd.read_parquet(td / "segments.parquet")
    acc = pd.read_parquet(td / "accounts.parquet").set_index("account_id").reindex(seg["account_id"])
    room = pd.read_parquet(td / "headroom.parquet").set_index("account_id").reindex(seg["account_id"])
    viol = pd.read_parquet(td / "violations.parquet")
    k = pd.read_parquet(prep / "kpis.parquet").set_index("team")
    kp = (k.loc[team] if team in k.index else pd.Series(dtype=float)).copy()
    kp["accounts"], kp["balance"] = len(seg), float(acc["balance"].sum())  # today's queue
    roll = pd.read_parquet(td / "roll.parquet")

    stage_dim = pb.dimension("stage")
    labels = {d: {c: pb.dimension(d).category(c).name(lang) for c in pb.dimension(d).ids}
              for d in ("stage", "behaviour_type")}
    q = pd.DataFrame({"stage": seg["stage"].astype(str).map(labels["stage"]).to_numpy(),
                      "type": seg["behaviour_type"].astype(str).map(labels["behaviour_type"]).to_numpy(),
                      "balance": acc["balance"].to_numpy()})
    queue = q.pivot_table(index="type", columns="stage", values="balance", aggfunc="size", fill_value=0)
    queue = queue.reindex(columns=[labels["stage"][c] for c in stage_dim.ids if labels["stage"][c] in queue.columns])
    type_ids = pb.dimension("behaviour_type").ids  # rows in the taxonomy's order (unclassified last), as in every page
    queue = queue.reindex([labels["behaviour_type"][c] for c in type_ids if labels["behaviour_type"][c] in queue.index])
    queue.loc[ui("total", lang, pb)] = queue.sum()
    cur = _currency(prov, pb, lang)
    queue[_unit(ui('balance', lang, pb), cur, lang)] = q.groupby("type")["balance"].sum().reindex(queue.index).fillna(q["balance"].sum())
    queue.index.name = ui("type", lang, pb)
    queue.columns.name = ui("stage", lang, pb)

    from .segmentation import recommend

    order = seg.sort_values(["priority", "account_id"], ascending=[False, True])
    call_minutes = float(pb.costs["call"].minutes_of_collector_time) if "call" in pb.costs else 0.0
    left_all = room.loc[order["account_id"], "calls_left_today"]
    need = pd.Series(np.where(left_all.fillna(1).to_numpy() > 0, call_minutes, 0.0), index=order["account_id"].to_numpy())
    capacity = _roster(pb, team, roster, lang)
    collector = assign_collectors(need, capacity)
    load = pd.DataFrame({"capacity": capacity, "accounts": collector.value_counts().reindex(capacity.index).fillna(0)})
    load["minutes"] = load["accounts"] * call_minutes

    top = order.head(top_n)
    a = acc.loc[top["account_id"]]
    r = room.loc[top["account_id"]]
    approach = recommend(top.reset_index(drop=True), pb, lang).astype(str).to_numpy()
    vul = top["vulnerable"].astype(str).to_numpy() if "vulnerable" in top else np.full(len(top), "none")
    vdim = pb.dimension("vulnerable")
    vul_label = [vdim.category(v).name(lang) if v not in ("none", "nan") else "" for v in vul]
    chosen = [pb.openers.choose(st, bt, team) for st, bt in
              zip(top["stage"].astype(str), top["behaviour_type"].astype(str))] if pb.openers else []
    opening = [o.name(lang) for o in chosen] if chosen else [""] * len(top)
    used = list({o.id: o for o in chosen}.values())
    reason = (top[f"reason_{lang}"].fillna("").to_numpy() if f"reason_{lang}" in top
              else np.full(len(top), "", dtype=object))
    why_team = (top[f"team_reason_{lang}"].fillna("").to_numpy() if f"team_reason_{lang}" in top
                else np.full(len(top), "", dtype=object))
    biz = prov.get("timezone")
    opens_utc = r["next_window_opens_utc"] if "next_window_opens_utc" in r else pd.Series(pd.NaT, index=r.index)
    no_log = "interactions" in prov.get("missing", [])  # no contact log: calls made today are unknown
    contact = [_contact_today(left, is_open, _opens_text(opens, at, zone, biz, lang, pb), lang, pb, known=not no_log)
               for left, is_open, opens, at, zone in
               zip(r["calls_left_today"], r["window_open_now"], r["next_window_opens"], opens_utc, r["timezone"])]
    worklist = pd.DataFrame({
        ui("priority", lang, pb): top["priority"].to_numpy(), ui("account", lang, pb): top["account_id"].to_numpy(),
        ui("name", lang, pb): a["name"].to_numpy() if "name" in a else "", ui("phone", lang, pb): a["phone"].to_numpy() if "phone" in a else "",
        _unit(ui('overdue', lang, pb), cur, lang): a["overdue_amount"].to_numpy() if "overdue_amount" in a else np.nan,
        ui("stage", lang, pb): top["stage"].astype(str).map(labels["stage"]).to_numpy(),
        ui("type", lang, pb): top["behaviour_type"].astype(str).map(labels["behaviour_type"]).to_numpy(),
        ui("type_confidence", lang, pb): _type_confidence(top),
        ui("vulnerability", lang, pb): vul_label,
        ui("reason", lang, pb): reason, ui("why_team", lang, pb): why_team, ui("approach", lang, pb): approach, ui("opening", lang, pb): opening,
        ui("contact_today", lang, pb): contact,
        ui("collector", lang, pb): collector.reindex(top["account_id"]).fillna(ui("unassigned", lang, pb)).to_numpy(),
    })
    if not any(vul_label):  # vulnerable accounts route to care: elsewhere the column would be empty on every row
        worklist = worklist.drop(columns=[ui("vulnerability", lang, pb)])
    promises = pd.read_parquet(td / "promises.parquet") if (td / "promises.parquet").is_file() else pd.DataFrame(
        columns=["account_id", "ptp_amount", "due", "kind"])
    return Briefing(team=team, lang=lang, as_of=day, provenance=prov, queue=queue, kpis=kp,
                    previous=_previous_kpis(Path(out_dir) if out_dir else None, team, day), roll=roll,
                    segments=seg, worklist=worklist, alerts=viol,
                    blocked=None if no_log else int((room["calls_left_today"] == 0).sum()),
                    pack=pack, playbook=pb, promises=promises, collectors=load, call_minutes=call_minutes,
                    openers=used)


def _unit(label: str, unit: str, lang: str) -> str:
    """A column header with its unit: ``逾期金额（CNY）`` / ``Overdue (CNY)``."""
    return f"{label}（{unit}）" if lang == "zh" else f"{label} ({unit})"


def _currency(provenance: dict, pb: Playbook, lang: str = "en") -> str:
    """The currency amounts are in (recorded in the provenance, else ``costs.yaml``), as a
    person reads it in ``lang`` (``元`` / ``CNY``)."""
    from .reasons import currency_label

    return currency_label(pb, lang, str(provenance.get("currency") or pb.currency))


def choose_openers(stages: "pd.Series | list[str]", types: "pd.Series | list[str]", team: str, lang: str,
                   playbook: Playbook | None = None) -> list[str]:
    """The opener of each account (``openers.yaml``): the first that fits its stage, type
    and team. Each names the caller and the creditor, checks the right party, and only
    then says why it calls."""
    pb = playbook or load_playbook()
    op = pb.openers
    if op is None:
        return ["" for _ in stages]
    creditor = op.creditor(lang)
    cache: dict[tuple[str, str], str] = {}
    out = []
    for st, bt in zip(stages, types):
        key = (str(st), str(bt))
        if key not in cache:
            cache[key] = op.choose(key[0], key[1], team).text(lang, creditor)
        out.append(cache[key])
    return out


def _opens_text(opens: str, at: Any, zone: Any, business_zone: str | None, lang: str, pb: Playbook) -> str:
    """When the window opens, on the collector's clock (the business time zone) first, with the
    debtor's local time after it when the two differ (08:00 in Urumqi is 10:00 in Beijing)."""
    if not business_zone or pd.isna(at) or str(zone) == business_zone:
        return opens
    mine = pd.Timestamp(at).tz_convert(business_zone).strftime("%Y-%m-%d %H:%M")
    return ui("window_opens_local", lang, pb).format(when=f"{mine} {business_zone}", local=opens)


def _contact_today(left: Any, is_open: bool, opens: str, lang: str, pb: Playbook, known: bool = True) -> str:
    """What the collector may do today: calls left, or none and when the window opens;
    ``known`` False (no contact log): the calls made today, so the calls left, are unknown."""
    sep = "；" if lang == "zh" else "; "
    if known and pd.notna(left) and int(left) == 0:
        return f"{ui('no_calls_left', lang, pb)}{sep}{ui('window_opens', lang, pb).format(when=opens)}"
    text = (ui("calls_unknown", lang, pb) if not known else ui("calls_unlimited", lang, pb) if pd.isna(left)
            else ui("calls_left_n", lang, pb).format(n=int(left)))
    return text if is_open else f"{text}{sep}{ui('window_opens', lang, pb).format(when=opens)}"


def _type_confidence(top: pd.DataFrame) -> list[str]:
    """Per worklist row, the behavioural type's confidence (0-100%; the reason text names the
    runner-up); empty for a type a gate rule assigned (no score)."""
    if "confidence" not in top:
        return [""] * len(top)
    scored = top["type_score"].notna().to_numpy() if "type_score" in top else np.ones(len(top), dtype=bool)
    scored = scored & (top["behaviour_type"].astype(str).to_numpy() != "unclassified")  # too little evidence: none to give
    return [f"{conf:.0%}" if ok and pd.notna(conf) else "" for conf, ok in zip(top["confidence"].to_numpy(), scored)]
