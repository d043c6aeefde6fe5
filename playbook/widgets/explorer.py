"""Portfolio explorer: filters, segment tables and charts, drill-down and export."""

from __future__ import annotations

import html
import io
import time
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..content import Playbook, load_playbook
from ..portfolio import Portfolio
from ..masking import mask_pii, neutralise_formulas
from .._docstrings import share_docs
from .common import LabelledApp, bar_svg, download_link, label_map, money, number, timeline_html

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["ANALYSIS_TABS", "ASSESSED", "PortfolioExplorer", "static_view"]

FILTERS = ("stage", "team", "behaviour_type", "contactability", "product")
#: dimensions no rule can assign from the data: the collector assesses them on the call
ASSESSED = ("communication_style", "b2b_type")
#: rows of the drill-down list
PICK_ROWS = 50
#: the monthly report's analyses, one tab each, on the filtered accounts
ANALYSIS_TABS = ("repayment", "delinquency", "promises", "value", "effectiveness", "forecast")


@share_docs
class PortfolioExplorer(LabelledApp):
    """An ipywidgets app over a segmented portfolio.

    ``filtered()``, ``summary()`` and ``export_frame()`` are plain pandas, so the app can be
    tested, and used, without a browser; ``widget`` is the ipywidgets view. Every label
    comes from the ``explorer`` section of ``ui.yaml`` in one language; categories show
    their names, never their ids.

    Parameters
    ----------
    portfolio : Portfolio
        The canonical tables.
    segments : pandas.DataFrame
        The segments of ``portfolio`` (:func:`playbook.segment`).
    {lang}
    {playbook}
    features : pandas.DataFrame, optional
        The features the segments came from: the drill-down then shows the observed facts
        (with their values) behind the behavioural type.
    as_of : date-like, optional
        The day the analysis tabs are as of; default the last day with data.
    """

    section = "explorer"

    def __init__(self, portfolio: Portfolio, segments: pd.DataFrame, *, lang: str = "zh",
                 playbook: Playbook | None = None, features: pd.DataFrame | None = None,
                 as_of: str | pd.Timestamp | None = None) -> None:
        self.portfolio, self.lang = portfolio, lang
        self.as_of = pd.Timestamp(as_of).normalize() if as_of is not None else _data_day(portfolio)
        self.features = features
        self.pb = playbook or load_playbook()
        acc = portfolio.accounts.set_index("account_id").reindex(segments["account_id"])
        self.frame = pd.DataFrame({c: segments[c].astype(str).to_numpy() for c in FILTERS if c in segments})
        self.frame["product"] = acc["product"].astype(str).to_numpy()
        self.frame["account_id"] = segments["account_id"].to_numpy()
        self.frame["balance"] = acc["balance"].to_numpy(dtype=float)
        self.frame["overdue_amount"] = acc["overdue_amount"].to_numpy(dtype=float)
        self.frame["dpd"] = acc["dpd"].to_numpy()
        self.frame["priority"] = segments["priority"].to_numpy(dtype=float)
        self.segments = segments
        self._codes = {c: pd.factorize(self.frame[c]) for c in FILTERS}
        self._balance = self.frame["balance"].to_numpy()
        self._overdue = self.frame["overdue_amount"].to_numpy()
        self._priority = self.frame["priority"].to_numpy()
        self._ids = self.frame["account_id"].to_numpy()
        self.labels = {c: self._labels(c) for c in FILTERS}
        #: what the collector assessed per account: {account_id: {dimension: category}}
        self.assessed: dict[str, dict[str, str]] = {}
        self.last_update_ms = float("nan")
        self._build()

    def _labels(self, col: str) -> dict[str, str]:
        """Display names of a filter column's values in the app's language."""
        if col in self.pb.dimensions:
            return label_map(self.pb, col, self.lang)
        out = {}
        for v in self._codes[col][1]:
            key = f"explorer.{col}_{v}"
            out[v] = self.pb.text(key, self.lang) if key in self.pb.labels else str(v)
        return out

    # ------------------------------------------------------------------ model
    def mask(self) -> np.ndarray:
        """Which rows of ``frame`` pass every filter control.

        Returns
        -------
        numpy.ndarray
            Boolean mask aligned with ``frame``.
        """
        m = None
        for c in FILTERS:
            chosen = self.controls[c].value
            if chosen and "__all__" not in chosen:
                codes, uniques = self._codes[c]
                lookup = np.isin(np.asarray(uniques, dtype=object), list(chosen))
                hit = lookup[codes]
                m = hit if m is None else (m & hit)
        lo, hi = self.controls["balance"].value
        b = self._balance
        inside = (b >= lo) & (b <= hi)
        return inside if m is None else (m & inside)

    def filtered(self) -> pd.DataFrame:
        """The accounts passing every filter.

        Returns
        -------
        pandas.DataFrame
            One row per account (filter columns, balance, overdue amount, days past due,
            priority), highest priority first.
        """
        return self.frame[self.mask()].sort_values("priority", ascending=False, kind="stable")

    def summary(self, by: str = "behaviour_type", mask: np.ndarray | None = None) -> pd.DataFrame:
        """Accounts, balance and overdue amount of the filtered rows per category of ``by``.

        Parameters
        ----------
        by : str
            A filter column (``stage``, ``team``, ``behaviour_type``, ``contactability``,
            ``product``).
        mask : numpy.ndarray, optional
            The filter mask, when already computed.

        Returns
        -------
        pandas.DataFrame
            One row per category present (labelled in the app's language), largest balance
            first; columns labelled in the app's language.
        """
        m = self.mask() if mask is None else mask
        codes, uniques = self._codes[by]
        c = codes[m]
        k = len(uniques)
        n = np.bincount(c, minlength=k)
        bal = np.bincount(c, weights=self._balance[m], minlength=k)
        od = np.bincount(c, weights=self._overdue[m], minlength=k)
        keep = np.flatnonzero(n)
        labels = self.labels[by]
        g = pd.DataFrame({self.text("accounts"): n[keep], self.text("balance"): bal[keep],
                          self.text("overdue"): od[keep]},
                         index=pd.Index([labels.get(u, u) for u in np.asarray(uniques, dtype=object)[keep]],
                                        name=self.text(by)))
        return g.sort_values(self.text("balance"), ascending=False, kind="stable")

    def summary_html(self, table: pd.DataFrame) -> str:
        """The summary as an HTML table: counts with separators, money with its currency."""
        cols = list(table.columns)
        head = "".join(f"<th>{html.escape(c)}</th>" for c in [table.index.name, *cols])
        rows = []
        for name, r in zip(table.index, table.itertuples(index=False)):
            cells = [f"<td style='text-align:left'>{html.escape(str(name))}</td>",
                     f"<td style='text-align:right'>{number(r[0])}</td>",
                     f"<td style='text-align:right'>{html.escape(money(r[1], self.pb, self.lang, self.portfolio.currency))}</td>",
                     f"<td style='text-align:right'>{html.escape(money(r[2], self.pb, self.lang, self.portfolio.currency))}</td>"]
            rows.append("<tr>" + "".join(cells) + "</tr>")
        return f"<table class='pb-summary' cellpadding='4'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"

    def top(self, mask: np.ndarray, n: int = PICK_ROWS) -> np.ndarray:
        """Row positions of the ``n`` highest-priority filtered accounts, highest first."""
        idx = np.flatnonzero(mask)
        if len(idx) > n:
            part = np.argpartition(-self._priority[idx], n - 1)[:n]
            idx = idx[part]
        return idx[np.lexsort((idx, -self._priority[idx]))]

    def filtered_portfolio(self) -> Portfolio:
        """The portfolio restricted to the filtered accounts (every table).

        Returns
        -------
        Portfolio
            The same tables, only the rows of the accounts passing every filter.
        """
        ids = set(self._ids[self.mask()])
        pf = self.portfolio
        keep = {t: f[f["account_id"].isin(ids)] for t, f in pf.tables().items()}
        return Portfolio(keep["accounts"], keep["interactions"], keep["payments"], keep["history"],
                         sources=pf.sources, timezone=pf.timezone)

    def analysis(self, name: str) -> tuple[pd.DataFrame | None, list[str], str]:
        """One analysis of the monthly report on the filtered accounts.

        Parameters
        ----------
        name : str
            One of ``ANALYSIS_TABS``: ``repayment``, ``delinquency``, ``promises``,
            ``value``, ``effectiveness``, ``forecast``.

        Returns
        -------
        table : pandas.DataFrame or None
            The analysis's key figures, headers in the app's language (None when n/a).
        notes : list of str
            What could not be computed, and why.
        period : str
            The period the figures cover.
        """
        from .. import analysis as A

        if name not in ANALYSIS_TABS:
            raise ValueError(f"unknown analysis {name!r}; known: {', '.join(ANALYSIS_TABS)}")
        pf = self.filtered_portfolio()
        if len(pf.accounts) == 0:
            return None, [self.pb.text("report.no_accounts", self.lang)], ""
        if name == "forecast":
            return self._forecast(pf)
        fn = A.ANALYSES[name]
        kw = {"segments": self.segments[self.segments["account_id"].isin(pf.accounts["account_id"])]} if name == "value" else {}
        res = fn(pf, as_of=self.as_of, playbook=self.pb, **kw)
        period = f"{res.period.get('start', '')} ~ {res.period.get('end', '')}" if res.period.get("start") else ""
        notes = [self.pb.text(f"missing.{table}", self.lang) for table in dict.fromkeys(res.needs)]
        return (_analysis_table(name, res, self.pb, self.lang, self.portfolio.currency) if res.tables else None), notes, period

    def _forecast(self, pf: Portfolio) -> tuple[pd.DataFrame | None, list[str], str]:
        from ..forecast import book_at, fit_roll, project
        from ..schema import BUCKETS

        h = pf.history[pf.history["month"] <= self.as_of.to_period("M").to_timestamp()]
        if h["month"].nunique() < 2:
            return None, [self.pb.text("missing.history", self.lang)], ""
        last = h["month"].max()
        fc = project(fit_roll(h, months=6), book_at(h, last), horizon=6, draws=200, method="months", seed=0)
        t = lambda k: self.pb.text(f"report.{k}", self.lang)  # noqa: E731
        names = {c: self.pb.label("stage", c, self.lang) for c in BUCKETS}
        rows = []
        for step in range(1, 7):
            g = fc[fc["step"] == step].set_index("bucket")
            row = {t("months_ahead"): f"{last + pd.DateOffset(months=step):%Y-%m}"}
            for b in BUCKETS:
                row[names[b]] = f"{g.loc[b, 'accounts']:,.0f} ({g.loc[b, 'accounts_lo']:,.0f}–{g.loc[b, 'accounts_hi']:,.0f})"
            rows.append(row)
        return pd.DataFrame(rows), [], f"{last:%Y-%m} + 1-6"

    def analysis_html(self, name: str) -> str:
        """One analysis on the filtered accounts as escaped HTML: period, table, n/a notes."""
        table, notes, period = self.analysis(name)
        parts = [f"<p style='color:#555;font-size:.85em'><b>{html.escape(self.pb.text('report.period', self.lang))}</b> "
                 f"{html.escape(period or 'n/a')} · <b>{html.escape(self.pb.text('report.denominator', self.lang))}</b> "
                 f"{html.escape(self.pb.text(f'report.den_{name}', self.lang))}</p>"]
        parts += [f"<p style='color:#8a5a00'>n/a: {html.escape(n)}</p>" for n in notes]
        if table is not None and len(table):
            head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
            body = "".join("<tr>" + "".join(f"<td style='text-align:{'left' if i == 0 else 'right'}'>{html.escape(str(v))}</td>"
                                            for i, v in enumerate(r)) + "</tr>" for r in table.itertuples(index=False))
            parts.append(f"<table class='pb-analysis' cellpadding='4'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        return "".join(parts)

    def show_analysis(self) -> None:
        """Fill the open analysis tab for the current filter (nothing while the section is closed)."""
        if getattr(self, "analyses_box", None) is None or self.analyses_box.selected_index is None:
            return
        i = self.analysis_tabs.selected_index or 0
        self.analysis_tabs.children[i].value = self.analysis_html(ANALYSIS_TABS[i])

    def export_frame(self) -> pd.DataFrame:
        """The filtered list as a person reads it: translated headers, category names
        instead of ids, personal data masked, formula-like text neutralised.

        Returns
        -------
        pandas.DataFrame
            One row per filtered account, highest priority first; the collector's
            assessments (communication style, B2B type) where made.
        """
        f = self.filtered()
        acc = mask_pii(self.portfolio.accounts.set_index("account_id").reindex(f["account_id"]).reset_index())
        out = pd.DataFrame({self.text("account"): f["account_id"].to_numpy(),
                            self.text("name"): acc["name"].to_numpy() if "name" in acc else "",
                            self.text("phone"): acc["phone"].to_numpy() if "phone" in acc else ""})
        for c in FILTERS:
            out[self.text(c)] = f[c].map(self.labels[c]).fillna(f[c]).to_numpy()
        out[self.text("dpd")] = f["dpd"].to_numpy()
        out[self.text("balance_with_unit")] = f["balance"].round(2).to_numpy()
        out[self.text("overdue_with_unit")] = f["overdue_amount"].round(2).to_numpy()
        out[self.text("priority")] = f["priority"].round(0).astype(int).to_numpy()
        for dim in ASSESSED:
            d = self.pb.dimension(dim)
            out[f"{d.name(self.lang)} ({self.text('assessed')})"] = [
                d.category(self.assessed[a][dim]).name(self.lang) if dim in self.assessed.get(a, {}) else ""
                for a in f["account_id"]]
        return neutralise_formulas(out)

    def export_bytes(self, fmt: str = "csv") -> tuple[str, bytes, str]:
        """The filtered list as a file's bytes (see :meth:`export_frame`).

        Parameters
        ----------
        fmt : {"csv", "xlsx"}
            CSV is UTF-8 with BOM, so Excel reads the Chinese headers.

        Returns
        -------
        filename : str
        data : bytes
        mime : str
        """
        out = self.export_frame()
        name = f"{self.text('export_file')}.{'xlsx' if fmt == 'xlsx' else 'csv'}"
        buf = io.BytesIO()
        if fmt == "xlsx":
            out.to_excel(buf, index=False)
            return name, buf.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return name, out.to_csv(index=False).encode("utf-8-sig"), "text/csv"

    def assess(self, account_id: str, dimension: str, category: str | None) -> None:
        """Record the collector's assessment of an account (communication style or B2B type).

        Parameters
        ----------
        account_id : str
            The account.
        dimension : {"communication_style", "b2b_type"}
            What was assessed.
        category : str or None
            A category of ``dimension``; ``None`` removes the assessment.
        """
        if dimension not in ASSESSED:
            raise ValueError(f"only {', '.join(ASSESSED)} are assessed by the collector, not {dimension!r}")
        if category is None:
            self.assessed.get(account_id, {}).pop(dimension, None)
            return
        self.pb.dimension(dimension).category(category)  # unknown ids fail here, listing the known ones
        self.assessed.setdefault(account_id, {})[dimension] = category

    # ------------------------------------------------------------------ view
    def _build(self) -> None:
        import ipywidgets as w

        self.controls: dict[str, w.Widget] = {}
        for c in FILTERS:
            labels = self.labels[c]
            order = self.pb.dimension(c).ids if c in self.pb.dimensions else sorted(labels)
            present = set(self._codes[c][1])
            values = [v for v in order if v in present] + sorted(present - set(order))
            opts = [(self.text("all"), "__all__")] + [(labels.get(v, v), v) for v in values]
            self.controls[c] = w.SelectMultiple(options=opts, value=("__all__",), description=self.text(c),
                                                rows=min(6, len(opts)), layout=w.Layout(width="270px"),
                                                style={"description_width": "100px"})
        bmax = float(np.ceil(self._balance.max() if len(self._balance) else 1))
        self.controls["balance"] = w.FloatRangeSlider(
            value=(0.0, bmax), min=0.0, max=bmax, step=max(float(np.ceil(bmax / 200)), 1.0),
            description=self.text("balance_with_unit"), continuous_update=False, readout_format=",.0f",
            layout=w.Layout(width="620px"), style={"description_width": "110px"})
        self.count = w.HTML()
        self.count.add_class("pb-count")
        self.table = w.HTML()
        self.table.add_class("pb-table")
        self.chart = w.HTML()
        self.chart.add_class("pb-chart")
        self.pick = w.Dropdown(description=self.text("account"), options=[], layout=w.Layout(width="520px"))
        self.timeline = w.HTML()
        self.timeline.add_class("pb-timeline")
        self.assess_controls = {}
        for dim in ASSESSED:
            d = self.pb.dimension(dim)
            opts = [(self.text("not_assessed"), "")] + [(c.name(self.lang), c.id) for c in d.categories]
            dd = w.Dropdown(options=opts, value="", description=d.name(self.lang),
                            style={"description_width": "180px"}, layout=w.Layout(width="440px"))
            dd.observe(lambda ch, dim=dim: self._assessed_changed(dim, ch["new"]), names="value")
            self.assess_controls[dim] = dd
        self.assess_hint = w.HTML()
        self.export_fmt = w.ToggleButtons(options=[("CSV", "csv"), ("Excel", "xlsx")], value="csv")
        self.export_btn = w.Button(description=self.text("export"), icon="download")
        self.export_btn.add_class("pb-export")
        self.download = w.HTML()
        self.download.add_class("pb-download-box")
        for c in self.controls.values():
            c.observe(lambda _: self.update(), names="value")
        self.pick.observe(lambda ch: self.show_account(ch["new"]), names="value")
        self.export_btn.on_click(lambda _: self.prepare_download())
        filters = w.HBox([self.controls[c] for c in FILTERS], layout=w.Layout(flex_flow="row wrap"))
        assess_box = w.VBox([w.HTML(f"<b>{html.escape(self.text('assessed_title'))}</b> "
                                    f"<small>{html.escape(self.text('assessed_note'))}</small>"),
                             w.HBox(list(self.assess_controls.values())), self.assess_hint])
        self.analysis_tabs = w.Tab(children=[w.HTML() for _ in ANALYSIS_TABS])
        for i, name in enumerate(ANALYSIS_TABS):
            self.analysis_tabs.set_title(i, self.pb.text(f"report.tab_{name}", self.lang))
        self.analysis_tabs.add_class("pb-analyses")
        self.analyses_box = w.Accordion(children=[self.analysis_tabs], selected_index=None)
        self.analyses_box.set_title(0, self.pb.text("report.analyses", self.lang))
        self.analysis_tabs.observe(lambda _: self.show_analysis(), names="selected_index")
        self.analyses_box.observe(lambda _: self.show_analysis(), names="selected_index")
        self.widget = w.VBox([filters, self.controls["balance"], self.count, w.HBox([self.table, self.chart]),
                              self.analyses_box, self.pick, assess_box, self.timeline,
                              w.HBox([self.export_fmt, self.export_btn]), self.download])
        self.update()

    def update(self) -> None:
        """Recompute the count, the table, the chart and the drill-down list."""
        t0 = time.perf_counter()
        m = self.mask()
        n = int(m.sum())
        self.count.value = f"<b class='pb-n'>{n:,}</b> {html.escape(self.text('matching'))}"
        table = self.summary(mask=m)
        self.table.value = self.summary_html(table)
        idx = self.top(m)
        bt = self.labels["behaviour_type"]
        types = self.frame["behaviour_type"].to_numpy()
        prio = html.escape(self.text("priority"))
        self.pick.options = [(f"{self._ids[i]} · {bt.get(types[i], types[i])} · {prio} {self._priority[i]:.0f}", self._ids[i])
                             for i in idx]
        self._draw(m)
        self.download.value = ""  # a link made before the change would download another list
        self.last_update_ms = (time.perf_counter() - t0) * 1000
        self.show_analysis()  # only when the analyses are open: they take longer than a filter change

    def _draw(self, m: np.ndarray) -> None:
        """The accounts-per-type bar chart as inline SVG (drawn by the browser: fast, and
        Chinese labels need no server-side font)."""
        d = self.pb.dimension("behaviour_type")
        codes, uniques = self._codes["behaviour_type"]
        n = np.bincount(codes[m], minlength=len(uniques))
        count = dict(zip(np.asarray(uniques, dtype=object), n.tolist()))
        rows = [(d.category(c).name(self.lang), count[c]) for c in d.ids if count.get(c, 0)]
        self.chart.value = bar_svg(rows, title=d.name(self.lang), axis=self.pb.text("chart.accounts", self.lang))

    def show_account(self, account_id: str | None) -> None:
        """Show an account's type with the facts behind it, its timeline and its segments.

        Parameters
        ----------
        account_id : str or None
            The account; ``None`` leaves the drill-down unchanged.
        """
        if not account_id:
            return
        self.current = account_id
        done = self.assessed.get(account_id, {})
        self._syncing = True
        try:
            for dim, dd in self.assess_controls.items():
                dd.value = done.get(dim, "")
        finally:
            self._syncing = False
        self._hint()
        self.timeline.value = (self.type_html(account_id)
                               + timeline_html(self.portfolio, account_id, self.segments, self.pb, self.lang))

    def _assessed_changed(self, dim: str, value: str) -> None:
        if getattr(self, "_syncing", False) or not getattr(self, "current", None):
            return
        self.assess(self.current, dim, value or None)
        self._hint()

    def _hint(self) -> None:
        done = self.assessed.get(getattr(self, "current", None) or "", {})
        parts = []
        for dim, cid in done.items():
            c = self.pb.dimension(dim).category(cid)
            parts.append(f"<li><b>{html.escape(c.name(self.lang))}</b>: "
                         + "; ".join(html.escape(t(self.lang)) for t in c.tactics)
                         + f" <i>({html.escape(self.text('avoid'))}: "
                         + "; ".join(html.escape(t(self.lang)) for t in c.avoid) + ")</i></li>")
        self.assess_hint.value = f"<ul>{''.join(parts)}</ul>" if parts else ""

    def type_html(self, account_id: str) -> str:
        """The account's type, confidence, runner-up and the observed facts behind it, in
        words, then its collector notes, masked.

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
                                 features=getattr(self, "features", None), section="explorer",
                                 currency=self.portfolio.currency)
        it = self.portfolio.interactions
        if "notes" in it.columns:
            notes = it.loc[(it["account_id"] == account_id) & it["notes"].notna(), "notes"]
            if len(notes):
                items = "".join(f"<li>{html.escape(str(x))}</li>" for x in mask_notes(notes.tail(10)))
                out += f"<p><b>{html.escape(self.text('notes'))}</b></p><ul>{items}</ul>"
        return out

    def prepare_download(self) -> str:
        """Put a download link for the filtered list (in the chosen format) under the button.

        Clicking the link downloads the file in the browser (a data URI: no file is
        written on the server).

        Returns
        -------
        str
            The link's HTML, also shown in ``download``.
        """
        name, data, mime = self.export_bytes(self.export_fmt.value)
        rows = int(self.mask().sum())
        self.download.value = download_link(data, name, mime, f"{name} · {rows:,} {self.text('rows')}")
        return self.download.value


def _data_day(pf: Portfolio) -> pd.Timestamp:
    """The last day the portfolio has data for (interactions, payments, else history's last month end)."""
    days = [f[c].max() for f, c in ((pf.interactions, "ts"), (pf.payments, "paid_at")) if len(f)]
    days = [pd.Timestamp(d).tz_convert(pf.timezone or "UTC").tz_localize(None) if pd.Timestamp(d).tzinfo else pd.Timestamp(d)
            for d in days]
    if days:
        return max(days).normalize()
    if len(pf.history):
        return (pf.history["month"].max() + pd.offsets.MonthEnd(0)).normalize()
    return pd.Timestamp.today().normalize()


def _analysis_table(name: str, res, pb: Playbook, lang: str,  # noqa: ANN001
                    currency: str | None = None) -> pd.DataFrame | None:
    """The key figures of one analysis result, headers in ``lang`` (the report's labels),
    amounts in ``currency`` (the portfolio's)."""
    from ..formatting import fmt_int, fmt_rate

    t = lambda k: pb.text(f"report.{k}", lang)  # noqa: E731
    stage = lambda b: pb.label("stage", str(b), lang) if str(b) in pb.dimension("stage").ids else str(b)  # noqa: E731
    tab = res.tables
    if name == "repayment":
        b = tab["by_bucket"]
        return pd.DataFrame({t("bucket"): b["bucket"].map(stage), t("accounts"): b["accounts"].map(fmt_int),
                             t("outstanding"): b["outstanding"].map(lambda v: money(v, pb, lang, currency)),
                             t("collected"): b["collected"].map(lambda v: money(v, pb, lang, currency)),
                             t("repayment_rate"): b["repayment_rate"].map(fmt_rate), t("payer_rate"): b["payer_rate"].map(fmt_rate)})
    if name == "delinquency":
        d = tab.get("months_delinquent")
        if d is None:
            a = tab["amount"]
            return pd.DataFrame({t("overdue_band"): a["band"].astype(str), t("accounts"): a["accounts"].map(fmt_int),
                                 t("share"): a["share"].map(fmt_rate)})
        return pd.DataFrame({t("months_delinquent"): d["months_delinquent"], t("accounts"): d["accounts"].map(fmt_int),
                             t("share"): d["share"].map(fmt_rate)})
    if name == "promises":
        parts = []
        for key, col, label in (("by_amount", "amount_band", "amount_band"), ("by_days", "days_band", "days_band"),
                                ("by_broken_before", "broken_before_band", "broken_before")):
            d = tab[key]
            d = d[d["promises"] > 0]
            parts.append(pd.DataFrame({t("promises"): [f"{t(label)}: {v}" for v in d[col].astype(str)],
                                       "n": d["promises"].map(fmt_int), t("kept_rate"): d["kept_rate"].map(fmt_rate)}))
        out = pd.concat(parts, ignore_index=True)
        return out.set_axis([" ", t("promises"), t("kept_rate")], axis=1)
    if name == "value":
        d = tab["deciles"]
        return pd.DataFrame({t("decile"): d["decile"], t("accounts"): d["accounts"].map(fmt_int),
                             t("value_share"): d["value_share"].map(fmt_rate), t("balance_share"): d["balance_share"].map(fmt_rate)})
    d = tab["by_attempt"]
    return pd.DataFrame({t("attempt"): d["attempt_band"], t("actions"): d["actions"].map(fmt_int),
                         t("rpc_rate"): d["rpc_rate"].map(fmt_rate),
                         t("yield_per_action"): d["yield_per_action"].map(lambda v: money(v, pb, lang, currency))})


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
        Type-by-stage counts and the top-priority accounts (personal data masked), labelled
        in ``lang``.
    figure : matplotlib.figure.Figure
        The segment-mix charts.
    """
    import matplotlib.pyplot as plt

    from ..plots import segment_mix

    pb = playbook or load_playbook()

    def t(key: str) -> str:
        return pb.text(f"explorer.{key}", lang)

    acc = portfolio.accounts.set_index("account_id").reindex(segments["account_id"])
    f = pd.DataFrame({"behaviour_type": segments["behaviour_type"].astype(str).to_numpy(),
                      "stage": segments["stage"].astype(str).to_numpy(), "balance": acc["balance"].to_numpy()})
    labels = {d: label_map(pb, d, lang) for d in ("behaviour_type", "stage")}
    table = f.assign(**{d: f[d].map(labels[d]) for d in labels}).pivot_table(
        index="behaviour_type", columns="stage", values="balance", aggfunc="size", fill_value=0)
    table.index.name, table.columns.name = t("behaviour_type"), t("stage")
    top = segments.sort_values("priority", ascending=False).head(20)
    masked = mask_pii(acc.loc[top["account_id"], ["name", "phone", "balance", "dpd"]].reset_index())
    shown = pd.DataFrame({t("account"): masked["account_id"], t("name"): masked["name"], t("phone"): masked["phone"],
                          t("balance"): [money(x, pb, lang, portfolio.currency) for x in masked["balance"]],
                          t("dpd"): [f"{int(x):,}" for x in masked["dpd"]]})
    shown[t("behaviour_type")] = top["behaviour_type"].astype(str).map(labels["behaviour_type"]).to_numpy()
    shown[t("confidence")] = top["confidence"].map(lambda x: f"{x:.0%}").to_numpy()
    if "runner_up" in top:
        shown[t("runner_up")] = top["runner_up"].astype(object).map(
            lambda x: labels["behaviour_type"].get(x, "") if isinstance(x, str) else "").to_numpy()
    html_out = (f"<h3>{html.escape(t('accounts'))}: {len(segments):,}</h3>" + table.to_html(escape=True)
                + shown.to_html(index=False, escape=True))
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    segment_mix(segments, "behaviour_type", by="stage", lang=lang, playbook=pb, ax=axes[0])
    segment_mix(segments, "team", lang=lang, playbook=pb, ax=axes[1])
    fig.tight_layout()
    return html_out, fig
