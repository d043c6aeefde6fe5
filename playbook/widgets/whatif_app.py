"""Strategy what-if app: pick strategies, adjust offer and intensity, simulate, compare."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from ..content import Playbook, load_playbook
from ..portfolio import Portfolio
from .._docstrings import share_docs
from ..strategy import Strategy, get_strategy, list_strategies
from .common import LabelledApp, download_link, fig_png, money, number, pct

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["WhatIfApp", "adjust", "static_view", "optimiser_view"]


def adjust(strategy: Strategy, *, intensity: float = 1.0, months: int | None = None,
           discount: float | None = None) -> Strategy:
    """A copy of ``strategy`` with attempts scaled and its offers' terms changed.

    Parameters
    ----------
    strategy : Strategy
        The strategy to adjust (left unchanged).
    intensity : float
        Factor on every rule's attempts per week; the copy's id gets an ``_x<factor>`` suffix.
    months : int, optional
        Term of instalment offers.
    discount : float, optional
        Discount of settlement offers.

    Returns
    -------
    Strategy
    """
    data = strategy.model_dump()
    for r in data["rules"]:
        tr = r["treatment"]
        tr["attempts_per_week"] = tr["attempts_per_week"] * intensity
        if tr["offer"]["type"] == "instalments" and months:
            tr["offer"]["months"] = months
        if tr["offer"]["type"] == "settlement" and discount:
            tr["offer"]["discount"] = discount
    suffix = f"x{intensity:g}" if intensity != 1 else ""
    data["id"] = strategy.id + (f"_{suffix}" if suffix else "")
    return Strategy.model_validate(data)


@share_docs
class WhatIfApp(LabelledApp):
    """Compare the champion and challengers; sliders change intensity and offer terms. A
    second tab runs the optimiser (:func:`playbook.optimise.optimise`): capacity, budget,
    legal share and risk in, the uplift over the champion, shadow prices, the frontier and a
    strategy YAML to download out.

    Labels come from the ``whatif`` and ``optimiser`` sections of ``ui.yaml``; ``widget`` is
    the view.

    Parameters
    ----------
    portfolio : Portfolio
        The canonical tables.
    segments : pandas.DataFrame
        The segments of ``portfolio`` (:func:`playbook.segment`).
    {as_of}
    {lang}
    {playbook}
    {pack}
    """

    section = "whatif"

    def __init__(self, portfolio: Portfolio, segments: pd.DataFrame, as_of: str, *, lang: str = "zh",
                 playbook: Playbook | None = None, pack: str = "cn") -> None:
        from ..whatif import calibrate

        self.portfolio, self.segments, self.as_of, self.lang, self.pack = portfolio, segments, as_of, lang, pack
        self.pb = playbook or load_playbook()
        self.model = calibrate(portfolio, segments, as_of, playbook=self.pb)
        self.result = None
        self._build()


    def strategy_name(self, sid: str) -> str:
        """A (possibly adjusted) strategy id as its name in the app's language."""
        base, _, factor = sid.partition("_x")
        try:
            name = get_strategy(sid).name(self.lang)
        except Exception:
            try:
                name = get_strategy(base).name(self.lang) + (f" ×{factor}" if factor else "")
            except Exception:
                name = sid
        return name

    def table_frame(self) -> pd.DataFrame:
        """The admissible strategies' results as a person reads them: names, translated
        headers, money with its currency, rates as percentages, whole accounts.

        Returns
        -------
        pandas.DataFrame
            One row per admissible strategy (all text).
        """
        return _readable(self.result, self.pb, self.lang, self.strategy_name, self.portfolio.currency)

    def strategies(self) -> list[Strategy]:
        """The chosen strategies, adjusted by the intensity and offer sliders.

        Returns
        -------
        list of Strategy
            One adjusted copy (:func:`adjust`) per selected strategy.
        """
        c = self.controls
        return [adjust(get_strategy(s), intensity=c["intensity"].value, months=c["months"].value,
                       discount=c["discount"].value) for s in c["strategies"].value]

    def run(self) -> pd.DataFrame:
        """Simulate every chosen strategy and show the table, the charts and the verdicts.

        Returns
        -------
        pandas.DataFrame
            One row of totals per strategy (``collected_mean``, ``net_mean``, ``admissible``, ...).
        """
        from ..whatif import simulate

        c = self.controls
        self.progress.value, self.progress.max = 0, len(c["strategies"].value) + 1
        self.progress.description = "…"
        rows, verdicts = [], {}
        for i, s in enumerate(self.strategies(), 1):
            res = simulate(self.portfolio, [s], c["horizon"].value, c["draws"].value, 0, as_of=self.as_of,
                           segments=self.segments, model=self.model, pack=self.pack, playbook=self.pb)
            rows.append(res.totals)
            verdicts.update(res.verdicts)
            self.progress.value = i
        self.result = pd.concat(rows)
        self.verdicts = verdicts
        self._render()
        self.progress.value = self.progress.max
        self.progress.description = "✓"
        return self.result

    def _build(self) -> None:
        import ipywidgets as w

        from ..compliance import admissible_strategies

        names = list_strategies()
        ok = set(admissible_strategies(self.pack, playbook=self.pb))
        self.controls = {
            "strategies": w.SelectMultiple(options=[(self.strategy_name(n), n) for n in names],
                                           value=tuple(n for n in names if n in ok),
                                           description=self.text("strategies"), rows=6, layout=w.Layout(width="420px")),
            "intensity": w.FloatSlider(value=1.0, min=0.25, max=3.0, step=0.25, description=self.text("intensity")),
            "months": w.IntSlider(value=6, min=2, max=24, description=self.text("months")),
            "discount": w.FloatSlider(value=0.2, min=0.05, max=0.5, step=0.05, description=self.text("discount"),
                                      readout_format=".0%"),
            "draws": w.IntSlider(value=500, min=100, max=5000, step=100, description=self.text("draws")),
            "horizon": w.IntSlider(value=90, min=30, max=180, step=30, description=self.text("horizon")),
        }
        self.button = w.Button(description=self.text("run"), button_style="primary")
        self.progress = w.IntProgress(value=0, min=0, max=1)
        self.table = w.HTML()
        self.table.add_class("pb-whatif-table")
        self.chart = w.Image(format="png")
        self.chart.add_class("pb-chart")
        self.verdict_html = w.HTML()
        self.button.on_click(lambda _: self.run())
        compare = w.VBox([w.HBox([self.controls["strategies"], w.VBox([self.controls[k] for k in
                                                                       ("intensity", "months", "discount", "draws", "horizon")])]),
                          w.HBox([self.button, self.progress]), self.table, self.chart, self.verdict_html])
        self.optimiser = self._build_optimiser()
        self.widget = w.Tab(children=[compare, self.optimiser])
        self.widget.set_title(0, self.text("tab_compare"))
        self.widget.set_title(1, self.pb.text("optimiser.tab", self.lang))

    def _build_optimiser(self):  # noqa: ANN202 - an ipywidgets box
        import ipywidgets as w

        def t(key: str) -> str:
            return self.pb.text(f"optimiser.{key}", self.lang)

        style = {"description_width": "190px"}
        lay = w.Layout(width="460px")
        self.opt_controls = {
            "capacity_scale": w.FloatSlider(value=1.0, min=0.25, max=5.0, step=0.25, description=t("w_capacity"),
                                            style=style, layout=lay),
            "budget": w.FloatText(value=0.0, description=t("w_budget"), style=style, layout=lay),
            "max_legal_share": w.FloatSlider(value=1.0, min=0.0, max=1.0, step=0.01, readout_format=".0%",
                                             description=t("w_legal"), style=style, layout=lay),
            "risk": w.Dropdown(options=[(t("objective_mean_short"), 0.0), ("10%", 0.1), ("25%", 0.25)], value=0.0,
                               description=t("w_risk"), style=style, layout=lay),
            "draws": w.IntSlider(value=300, min=100, max=2000, step=100, description=self.text("draws"), style=style,
                                 layout=lay),
        }
        self.opt_button = w.Button(description=t("w_run"), button_style="primary")
        self.opt_status = w.HTML()
        self.opt_html = w.HTML()
        self.opt_html.add_class("pb-optimiser")
        self.opt_chart = w.Image(format="png")
        self.opt_chart.add_class("pb-chart")
        self.opt_download = w.HTML()
        self.opt_download.add_class("pb-download-box")
        self.opt_result = None
        self.opt_button.on_click(lambda _: self.run_optimiser())
        return w.VBox([w.HTML(f"<p>{html.escape(t('w_intro'))}</p>"), *self.opt_controls.values(),
                       w.HBox([self.opt_button, self.opt_status]), self.opt_html, self.opt_chart, self.opt_download])

    def run_optimiser(self):  # noqa: ANN201 - an OptimiseResult
        """Run the optimiser with the tab's settings and show its results.

        Returns
        -------
        playbook.optimise.OptimiseResult
            Also kept as ``opt_result``.
        """
        import matplotlib.pyplot as plt

        from ..errors import PlaybookError
        from ..optimise import frontier_chart, optimise

        c = self.opt_controls
        self.opt_status.value = "…"
        budget = c["budget"].value if c["budget"].value and c["budget"].value > 0 else None
        share = c["max_legal_share"].value if c["max_legal_share"].value < 1 else None
        try:
            res = optimise(self.portfolio, as_of=self.as_of, segments=self.segments, model=self.model, pack=self.pack,
                           horizon_days=self.controls["horizon"].value, draws=c["draws"].value,
                           capacity_scale=c["capacity_scale"].value, budget=budget, max_legal_share=share,
                           risk=c["risk"].value or None, uplift_draws=1000, playbook=self.pb)
        except PlaybookError as exc:
            self.opt_status.value = f"<span class='pb-error'>{html.escape(str(exc))}</span>"
            self.opt_html.value, self.opt_download.value, self.opt_chart.value = "", "", b""
            return None
        self.opt_result = res
        self.opt_html.value = optimiser_html(res, self.pb, self.lang, self.portfolio.currency)
        fig = frontier_chart(res, lang=self.lang, playbook=self.pb)
        self.opt_chart.value = fig_png(fig)
        plt.close(fig)
        self.opt_download.value = download_link(res.strategy_yaml().encode("utf-8"), "optimised_strategy.yaml",
                                                "application/x-yaml", self.pb.text("optimiser.w_download", self.lang))
        self.opt_status.value = "✓"
        return res

    def _render(self) -> None:
        import matplotlib.pyplot as plt

        from ..plots import chart_lang

        r = self.result
        ok = r[r["admissible"]]
        version = html.escape(self.pb.text("cli.response_version", self.lang).format(version=self.model.version))
        self.table.value = (f"<p>{version}</p>" + self.table_frame().to_html(escape=True, index=False)) if len(ok) else ""
        bad = []
        for sid, vs in self.verdicts.items():
            if vs:
                bad.append(f"<li><b>{html.escape(self.strategy_name(sid))}</b>: "
                           + "; ".join(html.escape(_rule_text(v, self.pb, self.pack, self.lang)) for v in vs) + "</li>")
        heading = html.escape(self.text("inadmissible"))
        self.verdict_html.value = (f"<p><b>{heading}</b></p><ul>" + "".join(bad) + "</ul>") if bad else ""
        lang = chart_lang(self.lang)
        # the chart is a PNG in an Image widget: a model value that tests and browsers both see
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
        if len(ok):
            y = ok["collected_mean"]
            err = [y - ok["collected_p05"], ok["collected_p95"] - y]
            axes[0].bar(ok.index, y, yerr=err, capsize=4, color="#4C72B0")
            axes[0].set_title(self.pb.text("whatif.collected_interval", lang))
            axes[1].bar(ok.index, ok["cost_mean"], color="#DD8452")
            axes[1].bar(ok.index, ok["net_mean"], color="#55A868", alpha=0.5)
            axes[1].set_title(self.pb.text("whatif.cost_net", lang))
            axes[2].bar(ok.index, ok["capacity_use"], color="#C44E52")
            axes[2].axhline(1.0, color="k", lw=0.8)
            axes[2].set_title(self.pb.text("whatif.capacity_use", lang))
            for ax in axes:
                ax.set_xticks(range(len(ok)))
                ax.set_xticklabels([self.strategy_name(i) if lang == self.lang else i for i in ok.index],
                                   rotation=30, ha="right", fontsize=8)
        fig.tight_layout()
        self.chart.value = fig_png(fig)
        plt.close(fig)


@share_docs
def static_view(portfolio: Portfolio, segments: pd.DataFrame, as_of: str, *, strategies: Sequence[str] | None = None,
                draws: int = 500, horizon: int = 90, lang: str = "zh", pack: str = "cn",
                playbook: Playbook | None = None) -> tuple[str, Figure]:
    """The comparison without widgets, for papermill runs and reports.

    Parameters
    ----------
    portfolio : Portfolio
        The canonical tables.
    segments : pandas.DataFrame
        The segments of ``portfolio``.
    {as_of}
    strategies : sequence of str, optional
        Strategy ids; defaults to the champion and the shipped challengers.
    draws : int
        Monte Carlo draws per strategy.
    horizon : int
        Days simulated.
    {lang}
    {pack}
    {playbook}

    Returns
    -------
    html : str
        The admissible strategies' totals.
    figure : matplotlib.figure.Figure
        Collected per strategy with its 90% interval.
    """
    import matplotlib.pyplot as plt

    from ..plots import chart_lang
    from ..whatif import simulate

    pb = playbook or load_playbook()

    names = strategies or ["champion", "payday_calling", "sms_first_low_risk", "early_instalments", "legal_long_term"]
    res = simulate(portfolio, names, horizon, draws, 0, as_of=as_of, segments=segments, pack=pack, playbook=pb)
    ok = res.totals[res.totals["admissible"]]
    def name(sid: str) -> str:
        return get_strategy(sid).name(lang) if sid in list_strategies() else sid

    html_out = _readable(res.totals, pb, lang, name, portfolio.currency).to_html(escape=True, index=False)
    fig, ax = plt.subplots(figsize=(8, 3.4))
    y = ok["collected_mean"]
    ax.bar(ok.index, y, yerr=[y - ok["collected_p05"], ok["collected_p95"] - y], capsize=4, color="#4C72B0")
    ax.tick_params(axis="x", rotation=20, labelsize=8)
    ax.set_title(pb.text("whatif.collected_interval", chart_lang(lang)))
    fig.tight_layout()
    return html_out, fig


def optimiser_html(result, pb: Playbook, lang: str, currency: str | None = None) -> str:  # noqa: ANN001 - an OptimiseResult
    """The optimiser's result as HTML: uplift over the champion with its interval, the
    treatments chosen, the constraints with their shadow prices (all text escaped); amounts
    in ``currency`` (the portfolio's ISO code; by default the playbook's)."""
    def t(key: str, **kw: object) -> str:
        text = pb.text(f"optimiser.{key}", lang)
        return text.format(**kw) if kw else text

    from ..optimise import constraint_label, menu_label, price_sentence

    e = html.escape
    tot = result.totals
    rows = []
    for m in ("collected", "net"):
        d = result.uplift[m]
        rows.append((t(m), money(tot.loc["champion", f"{m}_mean"], pb, lang, currency),
                     money(tot.loc["optimised", f"{m}_mean"], pb, lang, currency), _signed(d["mean"], pb, lang, currency),
                     f"{_signed(d['p05'], pb, lang, currency)} – {_signed(d['p95'], pb, lang, currency)}"))
    head = [t("metric"), t("champion"), t("optimised"), t("difference"), t("difference_interval")]
    uplift = pd.DataFrame(rows, columns=head).to_html(escape=True, index=False)
    by = result.assignment.groupby("treatment").agg(cells=("accounts", "size"), accounts=("accounts", "sum"),
                                                    net=("net", "sum")).sort_values("accounts", ascending=False)
    choice = pd.DataFrame({t("treatment"): list(by.index), t("source"): [menu_label(i, lang=lang, playbook=pb) for i in by.index],
                           t("cells"): [number(x) for x in by["cells"]], t("accounts"): [number(x) for x in by["accounts"]],
                           t("net"): [money(x, pb, lang, currency) for x in by["net"]]}).to_html(escape=True, index=False)
    c = result.constraints
    cons = pd.DataFrame({t("constraint"): [constraint_label(r["constraint"], lang=lang, playbook=pb) for _, r in c.iterrows()],
                         t("limit"): [number(r["limit"]) for _, r in c.iterrows()],
                         t("used"): [number(r["used"]) for _, r in c.iterrows()],
                         t("binding"): [t("yes") if r["binding"] else t("no") for _, r in c.iterrows()],
                         t("shadow_price", currency=currency or pb.currency): [f"{r['shadow_price']:,.2f}" for _, r in c.iterrows()]}
                        ).to_html(escape=True, index=False)
    prices = "".join(f"<li>{e(price_sentence(r, lang=lang, playbook=pb))}</li>"
                     for _, r in c[c["binding"] & (c["shadow_price"].abs() > 0)].iterrows())
    return (f"<p>{e(pb.text('cli.response_version', lang).format(version=result.response_version))}</p>"
            f"<h4>{e(t('w_uplift'))}</h4>{uplift}<p>{e(t('uplift_note', draws=number(result.settings['uplift_draws'])))}</p>"
            f"<h4>{e(t('w_choice'))}</h4>{choice}<h4>{e(t('w_constraints'))}</h4>{cons}"
            + (f"<ul>{prices}</ul>" if prices else ""))


@share_docs
def optimiser_view(portfolio: Portfolio, segments: pd.DataFrame, as_of: str, *, lang: str = "zh", pack: str = "cn",
                   draws: int = 300, playbook: Playbook | None = None) -> tuple[str, Figure]:
    """The optimiser without widgets, for papermill runs and reports.

    Parameters
    ----------
    portfolio : Portfolio
        The canonical tables.
    segments : pandas.DataFrame
        The segments of ``portfolio``.
    {as_of}
    {lang}
    {pack}
    draws : int
        Monte Carlo draws of the value table.
    {playbook}

    Returns
    -------
    html : str
        Uplift, treatments chosen and constraints (:func:`optimiser_html`).
    figure : matplotlib.figure.Figure
        The efficient frontier.
    """
    from ..optimise import frontier_chart, optimise

    pb = playbook or load_playbook()
    res = optimise(portfolio, as_of=as_of, segments=segments, pack=pack, draws=draws, uplift_draws=1000, playbook=pb)
    return optimiser_html(res, pb, lang, portfolio.currency), frontier_chart(res, lang=lang, playbook=pb)


def _signed(x: float, pb: Playbook, lang: str, currency: str | None = None) -> str:
    s = money(x, pb, lang, currency)
    return s if x <= 0 else "+" + s


def _readable(totals: pd.DataFrame, pb: Playbook, lang: str, name, currency: str | None = None) -> pd.DataFrame:
    """The admissible rows of simulation totals, labelled and formatted for people (amounts in
    ``currency``, the portfolio's)."""
    ok = totals[totals["admissible"]]

    def t(key: str) -> str:
        return pb.text(f"whatif.{key}", lang)

    return pd.DataFrame({
        t("col_strategy"): [name(i) for i in ok.index],
        t("col_collected"): [money(x, pb, lang, currency) for x in ok["collected_mean"]],
        t("col_interval"): [f"{money(a, pb, lang, currency)} – {money(b, pb, lang, currency)}"
                           for a, b in zip(ok["collected_p05"], ok["collected_p95"])],
        t("col_cost"): [money(x, pb, lang, currency) for x in ok["cost_mean"]],
        t("col_net"): [money(x, pb, lang, currency) for x in ok["net_mean"]],
        t("col_cost_to_collect"): [pct(x) for x in ok["cost_to_collect"]],
        t("col_cured"): [number(round(x)) for x in ok["cured"]],
        t("col_hours"): [number(x) for x in ok["hours_needed"]],
        t("col_capacity"): [pct(x) for x in ok["capacity_use"]],
    })


def _rule_text(v: dict, pb: Playbook, pack: str, lang: str) -> str:
    """A verdict's rule in words: the pack rule's text, or the prohibited practice's name
    (else the finding's detail in ``lang``)."""
    from ..compliance import detail_column

    rid = str(v.get("rule", ""))
    if rid.startswith("prohibited:"):
        p = next((p for p in pb.prohibited if p.id == rid.split(":", 1)[1]), None)
        if p is not None:
            return p.name(lang)
    if pack in pb.packs:
        rule = next((r for r in pb.packs[pack].rules if r.id == rid), None)
        if rule is not None:
            return rule.text(lang)
    return str(v.get(detail_column(lang)) or v.get("detail", rid))
