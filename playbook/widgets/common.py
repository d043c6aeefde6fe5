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
from ..masking import mask_pii
from ..portfolio import Portfolio

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["fig_png", "label_map", "load_or_demo", "timeline_html"]


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


def load_or_demo(data_path: str | Path | None, as_of: str = "2026-11-29", *,
                 mapping: str | Path | Mapping | None = None, n_demo: int = 2000, seed: int = 7) -> Portfolio:
    """The portfolio at ``data_path``, or a demo portfolio when ``data_path`` is None.

    Only ``None`` gives demo data: a path or URL is always loaded, so a mistyped path is an
    error rather than a page silently showing other data.

    Parameters
    ----------
    data_path : str, Path or None
        Anything :func:`playbook.load_portfolio` reads (a folder, a file, an SQLAlchemy URL),
        or ``None`` for a generated demo portfolio.
    as_of : str
        The demo portfolio's as-of day (ignored when ``data_path`` is given).
    mapping : str, Path or Mapping, optional
        A mapping YAML for foreign column names and codes (only with ``data_path``).
    n_demo : int
        Number of demo accounts.
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
    if data_path is None:
        from ..demo import demo_portfolio

        return demo_portfolio(n_demo, seed, as_of)
    from ..loading import load_portfolio

    return load_portfolio(data_path, mapping)


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
    events = [(r.ts, f"{html.escape(str(r.channel))}: {html.escape(disp.get(r.outcome, str(r.outcome)))}"
               + (f" — {text('promise')} {r.ptp_amount:,.0f} @ {r.ptp_date:%Y-%m-%d}"
                  if pd.notna(r.ptp_amount) else "")) for r in it.itertuples()]
    events += [(r.paid_at, f"{text('payment')} {r.amount:,.2f}") for r in pay.itertuples()]
    events.sort(key=lambda e: e[0])
    tz = pb.timezone_of(portfolio)
    rows = "".join(f"<tr><td>{ts.tz_convert(tz):%Y-%m-%d %H:%M}</td><td>{body}</td></tr>" for ts, body in events)
    head = ""
    if len(acc):
        a = acc.iloc[0]
        who = "" if anonymise else f"{html.escape(str(a['account_id']))} · {html.escape(str(a.get('name', '')))} · "
        head = (f"<p><b>{who}{text('dpd')} {int(a['dpd'])} · {text('balance')} {a['balance']:,.0f} · "
                f"{text('overdue')} {a['overdue_amount']:,.0f}</b></p>")
    reasons = ""
    s = segments[segments["account_id"] == account_id]
    if len(s) and not anonymise:
        pairs = "; ".join(html.escape(x) for x in str(s["reasons"].iloc[0]).split(";"))
        reasons = f"<p style='word-break:break-word;white-space:normal'><b>{text('reasons')}</b>: {pairs}</p>"
    return f"{head}{reasons}<table><tr><th>{text('time')}</th><th>{text('event')}</th></tr>{rows}</table>"


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
