"""Shared helpers for the widget apps: data loading, labels, account timelines.

Every label the apps show comes from ``playbook/content/ui.yaml`` through
:meth:`playbook.content.Playbook.text`; no label table lives in code.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .._docstrings import share_docs
from ..content import Playbook
from ..formatting import fmt_money, fmt_number, fmt_rate, punctuation
from ..masking import mask_pii
from ..portfolio import Portfolio

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["bar_svg", "default_demo_dir", "download_link", "facts_text", "fig_png", "label_map", "load_or_demo",
           "money", "number", "pct", "reasons_html", "timeline_html"]


def fig_png(fig: Figure) -> bytes:
    """A matplotlib figure as PNG bytes (for an ``ipywidgets.Image``).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to render.

    Returns
    -------
    bytes
        The PNG file's bytes.
    """
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return buf.getvalue()


DEMO_ACCOUNTS, DEMO_SEED, DEMO_AS_OF = 5000, 7, "2026-11-29"


def default_demo_dir() -> Path:
    """``data/demo`` of the checkout the package runs from (what ``make demo`` writes)."""
    return Path(__file__).resolve().parents[2] / "data" / "demo"


def load_or_demo(data_path: str | Path | None, as_of: str = DEMO_AS_OF, *,
                 mapping: str | Path | Mapping | None = None, n_demo: int | None = None,
                 seed: int = DEMO_SEED) -> Portfolio:
    """The portfolio at ``data_path``, or the demo portfolio when ``data_path`` is None.

    With ``data_path=None`` the apps show the same customers as the briefings: the demo
    data ``make briefings`` wrote to ``data/demo`` when that folder exists, otherwise the
    same portfolio generated in memory (``demo_portfolio(5000, 7, "2026-11-29")``, the
    Makefile's settings). Only ``None`` gives demo data: a path or URL is always loaded, so
    a mistyped path is an error rather than a page silently showing other data.

    Parameters
    ----------
    data_path : str, Path or None
        Anything :func:`playbook.load_portfolio` reads (a folder, a file, an SQLAlchemy URL),
        or ``None`` for the demo portfolio.
    as_of : str
        The generated demo portfolio's as-of day (ignored when ``data_path`` is given).
    mapping : str, Path or Mapping, optional
        A mapping YAML for foreign column names and codes (only with ``data_path``).
    n_demo : int, optional
        Generate a demo portfolio of this many accounts instead (tests, benchmarks).
    seed : int
        Seed of the demo generator.

    Returns
    -------
    Portfolio

    Raises
    ------
    playbook.errors.SourceError
        If ``data_path`` cannot be read (for instance it does not exist); the CLI exits 2.
    playbook.errors.DataValidationError
        If rows of the source break the data contract.
    """
    from ..loading import load_portfolio

    if data_path is None:
        from ..demo import demo_portfolio

        demo_dir = default_demo_dir()
        if n_demo is None and (demo_dir / "accounts.parquet").is_file():
            return load_portfolio(demo_dir)
        return demo_portfolio(n_demo or DEMO_ACCOUNTS, seed, as_of)
    return load_portfolio(data_path, mapping)


def money(x: float, pb: Playbook, lang: str, currency: str | None = None) -> str:
    """An amount with thousands separators and its currency (``12,345 元``): ``currency``, the
    portfolio's ISO code, else the playbook's."""
    from ..reasons import currency_label

    return fmt_money(x, currency_label(pb, lang, currency))


def number(x: float, digits: int = 0) -> str:
    """A number with thousands separators (``n/a`` when missing)."""
    return fmt_number(x, digits)


def pct(x: float) -> str:
    """A share as a percentage with one decimal (``n/a`` when missing)."""
    return fmt_rate(x)


def facts_text(pb: Playbook, segments: pd.DataFrame, features: pd.DataFrame | None, account_id: str,
               lang: str, currency: str | None = None) -> dict:
    """Why an account has its behavioural type, in words: the cues that fired and the
    observed facts (feature names and values) behind each, from
    :func:`playbook.reasons.explain_type`; amounts in ``currency`` (the portfolio's ISO
    code; by default the playbook's).

    Returns
    -------
    dict
        ``type_name``, ``confidence``, ``runner_up_name``, ``runner_up_score``, ``facts`` (a
        list of ``(cue text, [(feature name, value), ...])``), ``against`` (the same for the
        counter-evidence that applied) and ``text`` (one paragraph).
    """
    from ..reasons import explain_type, named_values

    e = explain_type(segments, features, account_id, lang, pb, currency=currency)

    def worded(cues: list[dict]) -> list[tuple[str, list[tuple[str, str]]]]:
        return [(c["text"], named_values(c["values"], lang, pb, currency=currency)) for c in cues]

    facts, against = worded(e["cues"]), worded(e.get("against", []))
    sep, colon, lp, rp = ("；", "：", "（", "）") if lang == "zh" else ("; ", ": ", " (", ")")
    if facts:
        body = sep.join(t + (lp + ", ".join(f"{n} {v}" for n, v in vals) + rp if vals else "") for t, vals in facts)
    else:
        row = segments.loc[segments["account_id"] == account_id].iloc[0]
        rid = str(row["reason_behaviour_type"])
        rule = next((r for r in pb.rules.get("behaviour_type", []) if r.id == rid), None)
        card = pb.scorecards.get("behaviour_type")
        if rule is not None and rule.note is not None:
            body = rule.note(lang)
        elif card is not None and rid == card.fallback_id:
            body = card.note(lang)
        else:
            body = pb.dimension("behaviour_type").category(e["type"]).description(lang)
    text = f"{e['type_name']}{colon}{body}"
    return {"type_name": e["type_name"], "confidence": e["confidence"], "runner_up_name": e["runner_up_name"],
            "runner_up_score": e["runner_up_score"], "facts": facts, "against": against, "text": text, "body": body}


def bar_svg(rows: list[tuple[str, float]], *, title: str = "", axis: str = "", width: int = 520) -> str:
    """A horizontal bar chart as an inline SVG: one ``(label, value)`` per bar, top to bottom.

    Labels and titles are escaped; values are shown with thousands separators.
    """
    bar_h, gap, left, top = 18, 6, 150, 28
    height = top + len(rows) * (bar_h + gap) + 24
    vmax = max([v for _, v in rows] + [1])
    span = width - left - 70
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' class='pb-bars' "
             f"font-family='sans-serif' font-size='12'>",
             f"<text x='{left}' y='16' font-weight='bold'>{html.escape(title)}</text>"]
    for i, (label, v) in enumerate(rows):
        y = top + i * (bar_h + gap)
        w = max(1.0, span * v / vmax)
        parts.append(f"<text x='{left - 6}' y='{y + 13}' text-anchor='end'>{html.escape(str(label))}</text>"
                     f"<rect x='{left}' y='{y}' width='{w:.1f}' height='{bar_h}' fill='#4C72B0'/>"
                     f"<text x='{left + w + 4:.1f}' y='{y + 13}'>{v:,.0f}</text>")
    parts.append(f"<text x='{left}' y='{height - 6}' fill='#555'>{html.escape(axis)}</text></svg>")
    return "".join(parts)


def download_link(data: bytes, filename: str, mime: str, label: str) -> str:
    """An HTML anchor that downloads ``data`` in the browser as ``filename`` (a data URI:
    works in JupyterLab and Voilà without a file on the server)."""
    import base64

    b64 = base64.b64encode(data).decode("ascii")
    return (f"<a class='pb-download' download='{html.escape(filename)}' href='data:{mime};base64,{b64}' "
            f"style='font-weight:bold'>⬇ {html.escape(label)}</a>")


def reasons_html(pb: Playbook, segments: pd.DataFrame, account_id: str, lang: str) -> str:
    """The account's segment in every dimension, as 'dimension: category' in words."""
    s = segments[segments["account_id"] == account_id]
    if not len(s):
        return ""
    row = s.iloc[0]
    parts = []
    p = punctuation(lang)
    for dim in ("stage", "lifecycle", "severity", "contactability", "ability", "willingness", "quadrant",
                "behaviour_type", "intent", "risk_segment", "occupation_group", "life_stage", "vulnerable", "team"):
        if dim in row.index and dim in pb.dimensions and pd.notna(row[dim]):
            d = pb.dimension(dim)
            cid = str(row[dim])
            name = d.category(cid).name(lang) if cid in d.ids else cid
            parts.append(f"{html.escape(d.name(lang))}{p.colon}{html.escape(name)}")
    return p.semicolon.join(parts)


@share_docs
def label_map(pb: Playbook, dim: str, lang: str) -> dict[str, str]:
    """Display names of every category of dimension ``dim``.

    Parameters
    ----------
    pb : Playbook
        The playbook content.
    dim : str
        A segment dimension, e.g. ``"behaviour_type"``.
    {lang}

    Returns
    -------
    dict of str to str
        Category id to its name in ``lang``.
    """
    d = pb.dimension(dim)
    return {c: d.category(c).name(lang) for c in d.ids}


@share_docs
def timeline_html(portfolio: Portfolio, account_id: str, segments: pd.DataFrame, pb: Playbook, lang: str,
                  *, anonymise: bool = False) -> str:
    """One account's contacts, promises and payments in time order, with its reasons.

    Times are shown in the portfolio's business time zone
    (:meth:`playbook.content.Playbook.timezone_of`). Personal data is masked.

    Parameters
    ----------
    portfolio : Portfolio
        The canonical tables the account belongs to.
    account_id : str
        The account to show.
    segments : pandas.DataFrame
        The segments (:func:`playbook.segment`), for the classification reasons.
    pb : Playbook
        The playbook content (labels, disposition names, time zone).
    {lang}
    anonymise : bool
        Hide the account id, the name and the reasons (quiz mode).

    Returns
    -------
    str
        An HTML fragment; every data-derived text is escaped.
    """
    def text(key: str) -> str:
        return html.escape(pb.text(f"explorer.{key}", lang))

    acc = mask_pii(portfolio.accounts[portfolio.accounts["account_id"] == account_id])
    it = portfolio.interactions[portfolio.interactions["account_id"] == account_id]
    pay = portfolio.payments[portfolio.payments["account_id"] == account_id]
    disp = {d: pb.dispositions[d].name(lang) for d in pb.dispositions}
    cur = portfolio.currency

    def label(key: str, raw: object) -> str:
        full = f"explorer.{key}_{raw}"
        return pb.text(full, lang) if full in pb.labels else str(raw)

    events = []
    p = punctuation(lang)
    for r in it.itertuples():
        party = "" if getattr(r, "party", "debtor") in ("debtor", None) else label("party", r.party)
        who = p.bracket(party) if party else ""
        body = (f"{html.escape(label('channel', r.channel))}{html.escape(who)}{p.colon}"
                f"{html.escape(disp.get(r.outcome, str(r.outcome)))}")
        if pd.notna(getattr(r, "ptp_amount", None)):
            body += f" — {text('promise')} {html.escape(money(r.ptp_amount, pb, lang, cur))} @ {r.ptp_date:%Y-%m-%d}"
        events.append((r.ts, body))
    events += [(r.paid_at, f"{text('payment')} {html.escape(money(r.amount, pb, lang, cur))}") for r in pay.itertuples()]
    events.sort(key=lambda e: e[0])
    tz = pb.timezone_of(portfolio)
    from ..compliance.events import zones_or_default

    # the debtor's own zone when it differs: a 22:00 call here may be 20:00 there
    own = str(zones_or_default(acc, acc["account_id"], tz)[0][0]) if len(acc) else tz
    own = None if own == tz else own

    def when(ts: pd.Timestamp) -> str:
        shown = f"{ts.tz_convert(tz):%Y-%m-%d %H:%M}"
        if own is not None:
            shown += html.escape(pb.text("explorer.debtor_local", lang).format(time=f"{ts.tz_convert(own):%H:%M}", zone=own))
        return shown

    rows = "".join(f"<tr><td>{when(ts)}</td><td>{body}</td></tr>" for ts, body in events)
    head = ""
    if len(acc):
        a = acc.iloc[0]
        who = "" if anonymise else f"{html.escape(str(a['account_id']))} · {html.escape(str(a.get('name', '')))} · "
        product = html.escape(label("product", a["product"]))
        head = (f"<p><b>{who}{product} · {text('dpd')} {int(a['dpd']):,} · {text('balance')} "
                f"{html.escape(money(a['balance'], pb, lang, cur))} · {text('overdue')} "
                f"{html.escape(money(a['overdue_amount'], pb, lang, cur))}</b></p>")
    reasons = ""
    if not anonymise:
        body = reasons_html(pb, segments, account_id, lang)
        if body:
            reasons = (f"<p style='word-break:break-word;white-space:normal'><b>{text('reasons')}</b>"
                       f"{p.colon}{body}</p>")
    zone_head = p.bracket(html.escape(tz))
    return (f"{head}{reasons}<table class='pb-timeline'><tr><th>{text('time')}{zone_head}</th><th>{text('event')}</th></tr>"
            f"{rows}</table>")


class LabelledApp:
    """Base of the widget apps: labels of the app's ``ui.yaml`` section in its language.

    Subclasses set ``section`` and have ``pb`` (the playbook) and ``lang``.
    """

    section: str = ""
    pb: Playbook
    lang: str

    def text(self, key: str) -> str:
        """The label ``<section>.<key>`` of ``ui.yaml`` in the app's language.

        Parameters
        ----------
        key : str
            A key of the app's section.

        Returns
        -------
        str
            The label, not HTML-escaped.
        """
        return self.pb.text(f"{self.section}.{key}", self.lang)
