"""Portfolio explorer: filters, segment tables and charts, drill-down and export."""

from __future__ import annotations

import html
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..content import Playbook, load_playbook
from ..portfolio import Portfolio
from ..masking import mask_pii, neutralise_formulas
from .._docstrings import share_docs
from .common import LabelledApp, fig_png, label_map, timeline_html

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["PortfolioExplorer", "static_view"]

FILTERS = ("stage", "team", "behaviour_type", "contactability", "product")


@share_docs
class PortfolioExplorer(LabelledApp):
    """An ipywidgets app over a segmented portfolio.

    ``filtered()`` and ``summary()`` are plain pandas, so the app can be tested, and used,
    without a browser; ``widget`` is the ipywidgets view. Labels come from the ``explorer``
    section of ``ui.yaml``.

    Parameters
    ----------
    portfolio : Portfolio
        The canonical tables.
    segments : pandas.DataFrame
        The segments of ``portfolio`` (:func:`playbook.segment`).
    {lang}
    {playbook}
    export_dir : str or Path
        Where :meth:`export` writes the filtered list.
    features : pandas.DataFrame, optional
        The features the segments came from: the drill-down then shows each cue's values.
    """

    section = "explorer"

    def __init__(self, portfolio: Portfolio, segments: pd.DataFrame, *, lang: str = "zh",
                 playbook: Playbook | None = None, export_dir: str | Path = ".",
                 features: pd.DataFrame | None = None) -> None:
        self.portfolio, self.lang = portfolio, lang
        self.features = features
        self.pb = playbook or load_playbook()
        self.export_dir = Path(export_dir)
        acc = portfolio.accounts.set_index("account_id").reindex(segments["account_id"])
        self.frame = pd.DataFrame({c: segments[c].astype(str).to_numpy() for c in FILTERS if c in segments})
        self.frame["product"] = acc["product"].astype(str).to_numpy()
        self.frame["account_id"] = segments["account_id"].to_numpy()
        self.frame["balance"] = acc["balance"].to_numpy()
        self.frame["overdue_amount"] = acc["overdue_amount"].to_numpy()
        self.frame["priority"] = segments["priority"].to_numpy()
        self.segments = segments
        self._codes = {c: pd.factorize(self.frame[c]) for c in FILTERS}
        self.last_update_ms = float("nan")
        self._build()


    # ------------------------------------------------------------------ model
    def mask(self) -> np.ndarray:
        """Which rows of ``frame`` pass every filter control.

        Returns
        -------
        numpy.ndarray
            Boolean mask aligned with ``frame``.
        """
        m = np.ones(len(self.frame), dtype=bool)
        for c in FILTERS:
            chosen = self.controls[c].value
            if chosen and "__all__" not in chosen:
                codes, uniques = self._codes[c]
                wanted = np.flatnonzero(np.isin(np.asarray(uniques, dtype=object), list(chosen)))
                m &= np.isin(codes, wanted)
        lo, hi = self.controls["balance"].value
        b = self.frame["balance"].to_numpy()
        return m & (b >= lo) & (b <= hi)

    def filtered(self) -> pd.DataFrame:
        """The accounts passing every filter.

        Returns
        -------
        pandas.DataFrame
            One row per account (filter columns, balance, overdue amount, priority),
            highest priority first.
        """
        return self.frame[self.mask()].sort_values("priority", ascending=False)

    def summary(self, by: str = "behaviour_type") -> pd.DataFrame:
        """Accounts, balance and overdue amount of the filtered rows per category of ``by``.

        Parameters
        ----------
        by : str
            A filter column (``stage``, ``team``, ``behaviour_type``, ``contactability``,
            ``product``).

        Returns
        -------
        pandas.DataFrame
            One row per category (labelled in the app's language), largest balance first.
        """
        f = self.filtered()
        labels = label_map(self.pb, by, self.lang) if by in self.pb.dimensions else {}
        g = f.groupby(f[by].map(lambda x: labels.get(x, x)), sort=False).agg(
            accounts=("balance", "size"), balance=("balance", "sum"), overdue=("overdue_amount", "sum"))
        g.index.name = self.text(by) if by in FILTERS else by
        g = g.sort_values("balance", ascending=False)
        g.columns = [self.text("accounts"), self.text("balance"), self.text("overdue")]
        return g

    def export(self, fmt: str = "csv") -> Path:
        """Write the filtered list, personal data masked, to ``export_dir``.

        Parameters
        ----------
        fmt : {"csv", "xlsx"}
            File format (CSV is UTF-8 with BOM, for Excel).

        Returns
        -------
        Path
            The file written.
        """
        f = self.filtered()[["account_id", *FILTERS, "balance", "overdue_amount", "priority"]]
        acc = mask_pii(self.portfolio.accounts.set_index("account_id").reindex(f["account_id"]).reset_index())
        out = neutralise_formulas(f.merge(acc[["account_id", "name", "phone"]], on="account_id", how="left"))
        self.export_dir.mkdir(parents=True, exist_ok=True)
        path = self.export_dir / f"filtered_accounts.{'xlsx' if fmt == 'xlsx' else 'csv'}"
        if fmt == "xlsx":
            out.to_excel(path, index=False)
        else:
            out.to_csv(path, index=False, encoding="utf-8-sig")
        return path

    # ------------------------------------------------------------------ view
    def _build(self) -> None:
        import ipywidgets as w

        L = self.lang
        self.controls: dict[str, w.Widget] = {}
        for c in FILTERS:
            values = sorted(self.frame[c].unique())
            labels = label_map(self.pb, c, L) if c in self.pb.dimensions else {}
            opts = [(self.text("all"), "__all__")] + [(labels.get(v, v), v) for v in values]
            self.controls[c] = w.SelectMultiple(options=opts, value=("__all__",), description=self.text(c), rows=min(6, len(opts)),
                                                layout=w.Layout(width="260px"))
        bmax = float(np.ceil(self.frame["balance"].max() if len(self.frame) else 1))
        self.controls["balance"] = w.FloatRangeSlider(value=(0.0, bmax), min=0.0, max=bmax, step=max(bmax / 200, 1),
                                                      description=self.text("balance"), continuous_update=False,
                                                      layout=w.Layout(width="520px"))
        self.count = w.HTML()
        self.count.add_class("pb-count")
        self.table = w.HTML()
        self.table.add_class("pb-table")
        self.chart = w.Image(format="png")
        self.chart.add_class("pb-chart")
        self.pick = w.Dropdown(description=self.text("account"), options=[])
        self.timeline = w.HTML()
        self.export_fmt = w.ToggleButtons(options=["csv", "xlsx"], value="csv")
        self.export_btn = w.Button(description=self.text("export"), icon="download")
        self.export_msg = w.HTML()
        for c in self.controls.values():
            c.observe(lambda _: self.update(), names="value")
        self.pick.observe(lambda ch: self.show_account(ch["new"]), names="value")
        self.export_btn.on_click(lambda _: self._export())
        filters = w.HBox([self.controls[c] for c in FILTERS], layout=w.Layout(flex_flow="row wrap"))
        self.widget = w.VBox([filters, self.controls["balance"], self.count, w.HBox([self.table, self.chart]),
                              w.HBox([self.pick]), self.timeline, w.HBox([self.export_fmt, self.export_btn]),
                              self.export_msg])
        self.update()

    def update(self) -> None:
        """Recompute the count, the table, the chart and the drill-down list."""
        t0 = time.perf_counter()
        f = self.filtered()
        self.count.value = f"<b class='pb-n'>{len(f):,}</b> {html.escape(self.text('matching'))}"
        self.table.value = self.summary().to_html(escape=True, float_format=lambda x: f"{x:,.0f}")
        self.pick.options = [(f"{a} ({p:.0f})", a) for a, p in zip(f["account_id"].head(50), f["priority"].head(50))]
        self._draw(f)
        self.last_update_ms = (time.perf_counter() - t0) * 1000

    def _draw(self, f: pd.DataFrame) -> None:
        import matplotlib.pyplot as plt

        from ..plots import segment_mix

        # the chart is a PNG in an Image widget: a model value that tests and browsers both see
        fig, ax = plt.subplots(figsize=(5.5, 3.2))
        if len(f):
            segment_mix(f, "behaviour_type", lang=self.lang, playbook=self.pb, ax=ax)
        fig.tight_layout()
        self.chart.value = fig_png(fig)
        plt.close(fig)

    def show_account(self, account_id: str | None) -> None:
        """Show an account's timeline and reasons in the drill-down.

        Parameters
        ----------
        account_id : str or None
            The account; ``None`` leaves the drill-down unchanged.
        """
        if account_id:
            self.timeline.value = (self.type_html(account_id)
                                   + timeline_html(self.portfolio, account_id, self.segments, self.pb, self.lang))

    def type_html(self, account_id: str) -> str:
        """The account's type, confidence, runner-up and the cues that fired (with values
        when the explorer was given ``features``), then its collector notes, masked.

        Parameters
        ----------
        account_id : str
            The account.

        Returns
        -------
        str
            Escaped HTML.
        """
        from ..masking import mask_notes
        from .trainer import type_evidence_html

        out = type_evidence_html(self.pb, self.segments, account_id, self.lang,
                                 features=getattr(self, "features", None), section="explorer")
        it = self.portfolio.interactions
        if "notes" in it.columns:
            notes = it.loc[(it["account_id"] == account_id) & it["notes"].notna(), "notes"]
            if len(notes):
                items = "".join(f"<li>{html.escape(str(x))}</li>" for x in mask_notes(notes.tail(10)))
                out += f"<p><b>{html.escape(self.text('notes'))}</b></p><ul>{items}</ul>"
        return out

    def _export(self) -> None:
        path = self.export(self.export_fmt.value)
        self.export_msg.value = f"{html.escape(self.text('export'))}: {html.escape(str(path))}"


@share_docs
def static_view(portfolio: Portfolio, segments: pd.DataFrame, *, lang: str = "zh",
                playbook: Playbook | None = None) -> tuple[str, Figure]:
    """What the explorer shows with no filter, without widgets (papermill, reports).

    Parameters
    ----------
    portfolio : Portfolio
        The canonical tables.
    segments : pandas.DataFrame
        The segments of ``portfolio``.
    {lang}
    {playbook}

    Returns
    -------
    html : str
        Type-by-stage counts and the top-priority accounts (personal data masked).
    figure : matplotlib.figure.Figure
        The segment-mix charts.
    """
    import matplotlib.pyplot as plt

    from ..plots import segment_mix

    pb = playbook or load_playbook()
    acc = portfolio.accounts.set_index("account_id").reindex(segments["account_id"])
    f = pd.DataFrame({"behaviour_type": segments["behaviour_type"].astype(str).to_numpy(),
                      "stage": segments["stage"].astype(str).to_numpy(), "balance": acc["balance"].to_numpy()})
    labels = {d: label_map(pb, d, lang) for d in ("behaviour_type", "stage")}
    table = f.assign(**{d: f[d].map(labels[d]) for d in labels}).pivot_table(
        index="behaviour_type", columns="stage", values="balance", aggfunc="size", fill_value=0)
    top = segments.sort_values("priority", ascending=False).head(20)
    shown = mask_pii(acc.loc[top["account_id"], ["name", "phone", "balance", "dpd"]].reset_index())
    shown["type"] = top["behaviour_type"].astype(str).map(labels["behaviour_type"]).to_numpy()
    shown["confidence"] = top["confidence"].map(lambda x: f"{x:.0%}").to_numpy()
    if "runner_up" in top:
        shown["runner_up"] = top["runner_up"].astype(object).map(
            lambda x: labels["behaviour_type"].get(x, "") if isinstance(x, str) else "").to_numpy()
        shown["cues"] = top["type_cues"].astype(str).to_numpy()
    shown["reason"] = top["reason_behaviour_type"].astype(str).to_numpy()
    html_out = (f"<h3>{html.escape(pb.text('explorer.accounts', lang))}: {len(segments):,}</h3>" + table.to_html(escape=True)
                + shown.to_html(index=False, escape=True, float_format=lambda x: f"{x:,.0f}"))
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    segment_mix(segments, "behaviour_type", by="stage", lang=lang, playbook=pb, ax=axes[0])
    segment_mix(segments, "team", lang=lang, playbook=pb, ax=axes[1])
    fig.tight_layout()
    return html_out, fig
