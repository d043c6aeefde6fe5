"""The content of one team's morning briefing, as data and as escaped HTML fragments.

:func:`prepare` computes the portfolio-wide pieces once (segments, compliance headroom and
alerts, KPIs per team, provenance); :func:`team_briefing` slices them for one team. The
notebook ``notebooks/team_briefing.ipynb`` only calls these and displays the result.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
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
from .masking import mask_pii
from .portfolio import Portfolio
from .prepared import prepare as prepare_bundle

__all__ = ["prepare", "team_briefing", "Briefing", "ui", "write_json_atomic"]

KPI_TILES = [("accounts", "{:,.0f}"), ("balance", "{:,.0f}"), ("rpc_rate", "{:.1%}"), ("ptp_rate", "{:.1%}"),
             ("ptp_kept_rate", "{:.1%}"), ("collected", "{:,.0f}"), ("cost_to_collect", "{:.1%}"),
             ("roll_forward_rate", "{:.1%}"), ("cure_rate", "{:.1%}")]


def ui(key: str, lang: str, playbook: Playbook | None = None) -> str:
    """The briefing label ``key`` (``briefing.<key>`` in ``ui.yaml``) in ``lang``."""
    return (playbook or load_playbook()).text(f"briefing.{key}", lang)


@share_docs
def prepare(data_path: "str | Path | Portfolio | None", as_of: str | pd.Timestamp, cache_dir: str | Path, *,
            pack: str = "cn", mapping: str | Path | None = None, playbook: Playbook | None = None) -> Path:
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
    now = (day + pd.Timedelta(hours=9)).tz_localize(pb.pack(pack).default_timezone)
    since = (day - pd.Timedelta(days=6)).tz_localize(tz)

    def compliance_part() -> tuple[pd.DataFrame, pd.DataFrame]:
        room = headroom(bundle, now, pack, playbook=pb)
        return room, check_compliance(bundle, pack, since=since, playbook=pb).violations

    # compliance does not depend on the segments: compute both at once (Arrow/NumPy release the GIL)
    with ThreadPoolExecutor(max_workers=1) as side:
        comp = side.submit(compliance_part)
        seg = segment(bundle)
        seg.to_parquet(cache / "segments.parquet", index=False)
        activity = kpis(bundle, by="team", segments=seg)
        room, viol = comp.result()
    cols = [c for c in ("account_id", "balance", "overdue_amount", "dpd", "product", "name", "phone", "timezone")
            if c in pf.accounts]
    acc = mask_pii(pf.accounts[cols])
    # accounts not to be worked (paid off, closed, settled, sold, ...) join no team's queue
    team = np.where(seg["worked"].to_numpy(), seg["team"].astype(str).to_numpy(), "")
    team_of = pd.Series(team, index=seg["account_id"].to_numpy())
    books, period = _team_books(pf.history, day, team_of, pb)
    activity = activity.reindex(list(pb.teams))
    for t, (_, stats) in books.items():
        for k, v in stats.items():
            activity.loc[t, k] = v
    activity.index.name = "team"
    activity.reset_index().to_parquet(cache / "kpis.parquet", index=False)
    viol_team = team_of.reindex(viol["account_id"]).to_numpy()
    # one small folder per team, so each team's notebook reads only its own slice
    for t in pb.teams:
        d = cache / "teams" / t
        d.mkdir(parents=True, exist_ok=True)
        m = team == t
        seg[m].to_parquet(d / "segments.parquet", index=False)
        acc[m].to_parquet(d / "accounts.parquet", index=False)
        room[m].to_parquet(d / "headroom.parquet", index=False)
        viol[viol_team == t].to_parquet(d / "violations.parquet", index=False)
        books[t][0].to_parquet(d / "roll.parquet")
    write_json_atomic(cache / "provenance.json", {
        "data_path": str(data_path), "data_sha256": pf.sha256, "inputs": pf.sources, "as_of": str(day.date()),
        "playbook_version": __version__, "content_sha256": pb.content_sha256, "pack": pack, "timezone": tz,
        "rows": {t: len(f) for t, f in pf.tables().items()}, "missing": list(pf.missing),
        "roll_period": period, "activity_days": ACTIVITY_DAYS})
    return cache


ACTIVITY_DAYS = 30
# What each tile counts: the queue today, the queue's activity over the last ACTIVITY_DAYS,
# or the team's book over the last month of history (see _team_books).
TILE_SCOPE = {"accounts": "queue", "balance": "queue", "rpc_rate": "activity", "ptp_rate": "activity",
              "ptp_kept_rate": "activity", "collected": "activity", "cost_to_collect": "activity",
              "roll_forward_rate": "book", "cure_rate": "book"}


def _team_books(history: pd.DataFrame, day: pd.Timestamp, team_of: pd.Series,
                pb: Playbook) -> tuple[dict[str, tuple[pd.DataFrame, dict]], list[str] | None]:
    """Roll and cure rates of each team's book over the last month of history up to ``day``.

    A team's book is the accounts in the team's buckets (``teams.yaml``) at the start of
    the period; a team routed by other attributes (``buckets: []``) has as its book the
    delinquent accounts it holds today. ``roll_forward_rate`` = accounts of the book in a
    worse bucket at the end / accounts of the book; ``cure_rate`` = accounts of the book
    current at the end / accounts of the book. The heatmap is the same book's row shares,
    so the tiles and the heatmap agree. Returns per team ``(matrix, figures)`` and the
    period ``[start month, end month]`` (``None`` without history).
    """
    from .metrics import transitions
    from .schema import BUCKETS

    t = transitions(history)
    t = t[t["month"] <= day.to_period("M").to_timestamp()]
    out: dict[str, tuple[pd.DataFrame, dict]] = {}
    if t.empty:
        empty = pd.DataFrame(np.nan, index=pd.Index(BUCKETS, name="from"), columns=pd.Index(BUCKETS, name="to"))
        return {k: (empty, {"roll_forward_rate": np.nan, "cure_rate": np.nan, "book_accounts": 0}) for k in pb.teams}, None
    end = t["month"].max()
    last = t[t["month"] == end]
    start = (pd.Timestamp(end) - pd.DateOffset(months=1))
    frm = last["from_bucket"].astype(str)
    for tid, team in pb.teams.items():
        if team.buckets:
            book = last[frm.isin(team.buckets).to_numpy()]
        else:
            held = team_of.reindex(last["account_id"]).to_numpy() == tid
            book = last[held & (frm != "current").to_numpy()]
        counts = pd.crosstab(book["from_bucket"], book["to_bucket"], dropna=False).reindex(
            index=list(BUCKETS), columns=list(BUCKETS), fill_value=0)
        counts.index.name, counts.columns.name = "from", "to"
        tot = counts.sum(axis=1)
        matrix = counts.div(tot.where(tot > 0), axis=0).astype("float64")
        n = len(book)
        worse = (book["to_bucket"].cat.codes > book["from_bucket"].cat.codes).sum()
        cured = (book["to_bucket"].astype(str) == "current").sum()
        out[tid] = (matrix, {"roll_forward_rate": worse / n if n else np.nan, "cure_rate": cured / n if n else np.nan,
                             "book_accounts": n})
    return out, [f"{start:%Y-%m}", f"{pd.Timestamp(end):%Y-%m}"]


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
    blocked: int
    pack: str
    playbook: Playbook = field(repr=False)

    def _ui(self, key: str, lang: str) -> str:
        return self.playbook.text(f"briefing.{key}", lang)

    # ---------------------------------------------------------------- HTML fragments
    def header_html(self) -> str:
        L = self.lang
        p = self.provenance
        team = self.playbook.dimension("team").category(self.team)
        return (f"<h1>{html.escape(self._ui('title', L))}: {html.escape(team.name(L))}</h1>"
                f"<p><b>{self._ui('as_of', L)}</b> {self.as_of.date()} &nbsp; <b>{self._ui('version', L)}</b> "
                f"{html.escape(str(p.get('playbook_version')))} (content {html.escape(str(p.get('content_sha256', ''))[:12])})"
                f"<br><b>{self._ui('provenance', L)}</b> sha256 {html.escape(str(p.get('data_sha256', '')))}</p>"
                + "".join(f"<p class='notice'>{html.escape(self.playbook.text(f'missing.{t}', L))}</p>"
                          for t in p.get("missing", [])))

    def queue_html(self) -> str:
        return self.queue.to_html(escape=True, float_format=lambda x: f"{x:,.0f}", classes="queue")

    def kpi_tiles_html(self) -> str:
        """The KPI tiles, each with its period and population, and the change against the
        previous briefing (percentage points for rates)."""
        L = self.lang
        p = self.provenance
        period = p.get("roll_period")
        scope = {
            "queue": self._ui("period_queue", L),
            "activity": self._ui("period_activity", L).format(days=p.get("activity_days", ACTIVITY_DAYS),
                                                                date=self.as_of.date()),
            "book": (self._ui("period_book", L).format(start=period[0], end=period[1],
                                                       n=int(self.kpis.get("book_accounts", 0) or 0))
                     if period else self._ui("no_history", L)),
        }
        tiles = []
        for key, fmt in KPI_TILES:
            v = self.kpis.get(key, np.nan)
            text = "n/a" if pd.isna(v) else fmt.format(v)
            prev = (self.previous or {}).get(key)
            if prev is None or pd.isna(v) or (isinstance(prev, float) and np.isnan(prev)):
                delta = self._ui("no_prev", L)
            elif "%" in fmt:
                delta = f"{self._ui('vs_prev', L)} {(v - prev) * 100:+.1f} {self._ui('pp', L)}"
            else:
                delta = f"{self._ui('vs_prev', L)} {v - prev:+,.0f}"
            tiles.append(f"<div class='tile'><div class='k'>{html.escape(self.playbook.text(f'kpi.{key}', L))}</div>"
                         f"<div class='v'>{html.escape(text)}</div><div class='p'>{html.escape(scope[TILE_SCOPE[key]])}</div>"
                         f"<div class='d'>{html.escape(delta)}</div></div>")
        return "<style>.tile{display:inline-block;vertical-align:top;border:1px solid #ccc;padding:6px 10px;margin:3px;" \
               "width:170px}.tile .v{font-size:1.4em;font-weight:bold}.tile .d,.tile .p{color:#666;font-size:.8em}" \
               "</style>" + "".join(tiles)

    def worklist_html(self) -> str:
        return self.worklist.to_html(index=False, escape=True, classes="worklist")

    def alerts_html(self) -> str:
        L = self.lang
        if self.alerts.empty:
            out = f"<p>{html.escape(self._ui('no_alerts', L))}</p>"
        else:
            pack = self.playbook.pack(self.pack)
            counts = self.alerts.groupby("rule").size().rename(self._ui("count", L)).to_frame()
            counts.index = [f"{r}: {pack.rule(r).text(L)}" for r in counts.index]
            counts.index.name = self._ui("rule", L)
            shown = self.alerts.head(20)[["rule", "account_id", "ts", "detail"]]
            shown.columns = [self._ui("rule", L), self._ui("account", L), self._ui("when", L), self._ui("detail", L)]
            out = counts.to_html(escape=True) + shown.to_html(index=False, escape=True)
        return out + f"<p>{html.escape(self._ui('blocked', L))}: {self.blocked}</p>"

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
        rows = "".join(f"<tr><td>{html.escape(p.name(L))}</td><td>{html.escape(p.why_forbidden(L))}</td>"
                       f"<td>{html.escape(p.do_instead(L))}</td><td>{html.escape('; '.join(s.citation for s in p.sources))}</td></tr>"
                       for p in pb.prohibited)
        parts.append(f"<h4>{html.escape(self._ui('red_lines', L))}</h4><table><tr><th></th><th>{self._ui('why', L)}</th>"
                     f"<th>{self._ui('instead', L)}</th><th>source</th></tr>{rows}</table>")
        return "".join(parts)

    def sidecar(self) -> dict:
        """What the next briefing compares its KPI tiles against."""
        return {"team": self.team, "as_of": str(self.as_of.date()), "lang": self.lang,
                "kpis": {k: (None if pd.isna(self.kpis.get(k, np.nan)) else float(self.kpis.get(k)))
                         for k, _ in KPI_TILES},
                "worklist_accounts": self.worklist.iloc[:, 1].tolist() if len(self.worklist) else []}


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
                  pack: str = "cn", wait_prepared: float = 0, playbook: Playbook | None = None) -> Briefing:
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
        prepared = prepare(data_path, day, base / ".prepared", pack=pack, playbook=pb)
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

    stage_dim, bt_dim = pb.dimension("stage"), pb.dimension("behaviour_type")
    labels = {d: {c: pb.dimension(d).category(c).name(lang) for c in pb.dimension(d).ids}
              for d in ("stage", "behaviour_type")}
    q = pd.DataFrame({"stage": seg["stage"].astype(str).map(labels["stage"]).to_numpy(),
                      "type": seg["behaviour_type"].astype(str).map(labels["behaviour_type"]).to_numpy(),
                      "balance": acc["balance"].to_numpy()})
    queue = q.pivot_table(index="type", columns="stage", values="balance", aggfunc="size", fill_value=0)
    queue = queue.reindex(columns=[labels["stage"][c] for c in stage_dim.ids if labels["stage"][c] in queue.columns])
    queue.loc[ui("accounts", lang, pb)] = queue.sum()
    queue[ui("balance", lang, pb)] = q.groupby("type")["balance"].sum().reindex(queue.index).fillna(q["balance"].sum())
    queue.index.name = ui("type", lang, pb)
    queue.columns.name = ui("stage", lang, pb)

    from .segmentation import recommend

    top = seg.sort_values(["priority", "account_id"], ascending=[False, True]).head(top_n)
    a = acc.loc[top["account_id"]]
    r = room.loc[top["account_id"]]
    approach = recommend(top.reset_index(drop=True), pb, lang).astype(str).to_numpy()
    opening = [(bt_dim.category(b).opening_line(lang) if bt_dim.category(b).opening_line else "")
               for b in top["behaviour_type"].astype(str)]
    cue = {c.id: c.cues[0](lang) for c in bt_dim.categories}
    reason = [f"{rid}: {cue.get(b, '')}" for rid, b in zip(top["reason_behaviour_type"].astype(str), top["behaviour_type"].astype(str))]
    calls_left = r["calls_left_today"].astype("Int64").astype(object).where(r["calls_left_today"].notna(), ui("no_limit", lang, pb))
    worklist = pd.DataFrame({
        ui("priority", lang, pb): top["priority"].to_numpy(), ui("account", lang, pb): top["account_id"].to_numpy(),
        ui("name", lang, pb): a["name"].to_numpy() if "name" in a else "", ui("phone", lang, pb): a["phone"].to_numpy() if "phone" in a else "",
        ui("stage", lang, pb): top["stage"].astype(str).map(labels["stage"]).to_numpy(),
        ui("type", lang, pb): top["behaviour_type"].astype(str).map(labels["behaviour_type"]).to_numpy(),
        ui("reason", lang, pb): reason, ui("approach", lang, pb): approach, ui("opening", lang, pb): opening,
        ui("calls_left", lang, pb): calls_left.to_numpy(), ui("next_window", lang, pb): r["next_window_opens"].to_numpy(),
    })
    return Briefing(team=team, lang=lang, as_of=day, provenance=prov, queue=queue, kpis=kp,
                    previous=_previous_kpis(Path(out_dir) if out_dir else None, team, day), roll=roll,
                    segments=seg, worklist=worklist, alerts=viol, blocked=int((room["calls_left_today"] == 0).sum()),
                    pack=pack, playbook=pb)
