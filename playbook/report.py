"""The monthly analysis report: the five analyses, the roll-rate forecast, findings by rule.

:func:`compute` runs every analysis (:mod:`playbook.analysis`), the forecast, vintages and
a backtest on the data's own history (:mod:`playbook.forecast`) once, into a
:class:`MonthlyReport`; its methods give the page's escaped HTML fragments and labelled
charts in either language. Findings are rules in ``content/analysis.yaml`` (safe
expressions over :data:`FACTS`, texts quoting the numbers) and link to the playbook's
tactics and shipped strategies. :func:`run_report` runs the notebook
``notebooks/monthly_analysis.ipynb`` with papermill (``playbook report``) and writes the
HTML without code, warnings or personal data (the page shows aggregates only).
"""

from __future__ import annotations

import html
import pickle
import re
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np
import pandas as pd

from . import __version__
from ._checks import check_choice, check_date, check_positive_int
from ._docstrings import share_docs
from .analysis import ANALYSES, Analysis, run_all
from .atomic import write_json_atomic
from .content import ContentModel, Playbook, Text, load_playbook, parse_model, read_yaml
from .errors import ContentError, SourceError
from .expressions import parse
from .formatting import NA, fmt_int, fmt_money, fmt_rate
from .portfolio import Portfolio
from .runner import check_writable, run_notebook
from .schema import BUCKETS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["FACTS", "Finding", "MonthlyReport", "compute", "load_findings", "run_report", "default_template",
           "CHARTS"]

#: every fact a finding rule may use: name -> (kind, meaning). Kinds format the number:
#: rate 34.1%, signed +12.0%, pp 5.2, int 1,234, money 1,234 CNY, ratio 0.98, text as is.
FACTS: dict[str, tuple[str, str]] = {
    "repay_period": ("text", "the repayment period"),
    "repay_accounts": ("int", "accounts in the repayment analysis"),
    "repay_rate": ("rate", "collected / outstanding at the start, all accounts"),
    "repay_m1_rate": ("rate", "repayment rate of M1"),
    "repay_m3_rate": ("rate", "repayment rate of M3+"),
    "repay_m1_m3_gap_pp": ("pp", "(M1 rate - M3+ rate) x 100"),
    "delinq_period": ("text", "the history months of the delinquency profile"),
    "delinq_accounts": ("int", "accounts with history in the window"),
    "delinq_repeat_share": ("rate", "share of those accounts with two or more delinquency spells"),
    "delinq_long_share": ("rate", "share whose longest spell is three months or more"),
    "delinq_last_month": ("text", "the last history month"),
    "delinq_rate_last": ("rate", "delinquency rate in the last history month"),
    "delinq_rate_before": ("rate", "delinquency rate three months earlier"),
    "delinq_rate_change_pp": ("pp", "(last - three months earlier) x 100"),
    "promises_period": ("text", "when the promises were made"),
    "promises_n": ("int", "promises fallen due"),
    "promises_kept_rate": ("rate", "kept / fallen due"),
    "promises_large_edge": ("money", "the lower edge of the largest promise-amount band"),
    "promises_large_rate": ("rate", "kept rate of the largest band"),
    "promises_small_rate": ("rate", "kept rate of the other promises"),
    "promises_large_gap_pp": ("pp", "(other - largest) x 100"),
    "promises_first_rate": ("rate", "kept rate with no promise broken before"),
    "promises_after_broken_rate": ("rate", "kept rate with one or more broken before"),
    "promises_after_broken_n": ("int", "promises with one or more broken before"),
    "promises_broken_gap_pp": ("pp", "(first - after broken) x 100"),
    "value_period": ("text", "the period the propensities are measured over (by the stage at its start)"),
    "value_accounts": ("int", "accounts valued and ranked: those with something overdue today"),
    "value_top_decile_share": ("rate", "share of expected recovery in the top decile (accounts overdue today)"),
    "value_top_decile_balance_share": ("rate", "share of balance in the top decile (accounts overdue today)"),
    "eff_period": ("text", "the actions' period"),
    "eff_attempts": ("int", "voice attempts"),
    "yield_days": ("int", "days after an action a payment is attributed to it"),
    "rpc_first_rate": ("rate", "RPC rate of first attempts"),
    "rpc_drop_attempt": ("int", "the first attempt number whose RPC rate is under half the first's (0: none)"),
    "rpc_drop_rate": ("rate", "the RPC rate at that attempt"),
    "min_hour_attempts": ("int", "attempts an hour needs to be compared"),
    "rpc_best_hour": ("int", "the debtor's local hour with the highest RPC rate"),
    "rpc_best_rate": ("rate", "its RPC rate"),
    "rpc_worst_hour": ("int", "the debtor's local hour with the lowest RPC rate"),
    "rpc_worst_rate": ("rate", "its RPC rate"),
    "rpc_hour_gap_pp": ("pp", "(best - worst) x 100"),
    "visit_actions": ("int", "field visits"),
    "visit_cost_per_collected": ("rate", "visit cost / collected after visits"),
    "fc_start_month": ("text", "the forecast's starting month"),
    "fc_m3_now_balance": ("money", "M3+ balance in the starting month"),
    "fc_m3_3m_balance": ("money", "projected M3+ balance three months ahead"),
    "fc_m3_change": ("signed", "projected / now - 1"),
    "fc_inflow_next": ("int", "accounts rolling into M3+ next month"),
    "fc_inflow_next_lo": ("int", "its 90% interval, low end"),
    "fc_inflow_next_hi": ("int", "its 90% interval, high end"),
    "bt_ratio": ("ratio", "backtest: forecast MAE / naive MAE, accounts, all buckets"),
    "bt_coverage": ("rate", "backtest: share of actual counts inside the 90% interval"),
    "bt_cells": ("int", "backtest: bucket-months compared"),
    "bt_months": ("text", "backtest: the months forecast"),
}

#: the charts the page shows, in order
CHARTS = ("repayment", "delinquency", "promises", "value", "effectiveness", "forecast", "vintage")
MIN_HOUR_ATTEMPTS = 50


class Recommend(ContentModel):
    """What to do about a finding: a text, tactics to read, strategies to compare."""

    text: Text
    tactics: list[dict[str, str]] = []
    strategies: list[str] = []


class Finding(ContentModel):
    """One finding rule of ``analysis.yaml``."""

    id: str
    name: Text
    when: str
    text: Text
    recommend: Recommend


class _FindingFile(ContentModel):
    findings: list[Finding]


_PLACEHOLDER = re.compile(r"\{([a-z0-9_]+)\}")


def load_findings(playbook: Playbook | None = None) -> list[Finding]:
    """The finding rules of ``content/analysis.yaml``, checked.

    Every name a ``when`` expression reads and every ``{placeholder}`` of a text must be a
    fact of :data:`FACTS`; tactics must name an existing dimension and category, and
    strategies a shipped strategy. Problems raise :class:`~playbook.errors.ContentError`
    naming the file, the entry and the field.
    """
    from .strategy import list_strategies

    pb = playbook or load_playbook()
    rel = "analysis.yaml"
    raw = read_yaml(pb.root / rel, rel)
    problems: list = []
    model = parse_model(_FindingFile, raw, rel, problems)
    if model is None:
        raise ContentError(problems)
    known = set(list_strategies())
    for i, f in enumerate(model.findings):
        entry = f"findings[{i}] (id: {f.id})"
        try:
            names = parse(f.when).names
        except Exception as exc:  # noqa: BLE001 - reported as a content problem
            problems.append((rel, entry, "when", str(exc)))
            names = frozenset()
        for n in sorted(set(names) - set(FACTS)):
            problems.append((rel, entry, "when", f"unknown fact {n!r}; known: {', '.join(sorted(FACTS))}"))
        for lang in ("zh", "en"):
            for n in sorted(set(_PLACEHOLDER.findall(f.text(lang))) - set(FACTS)):
                problems.append((rel, entry, f"text.{lang}", f"unknown placeholder {{{n}}}"))
        for t in f.recommend.tactics:
            if set(t) != {"dimension", "category"}:
                problems.append((rel, entry, "recommend.tactics", "each tactic is {dimension, category}"))
            elif t["dimension"] not in pb.dimensions or t["category"] not in pb.dimensions[t["dimension"]].ids:
                problems.append((rel, entry, "recommend.tactics", f"unknown category {t['dimension']}.{t['category']}"))
        for s in f.recommend.strategies:
            if s not in known:
                problems.append((rel, entry, "recommend.strategies", f"unknown strategy {s!r}; known: {', '.join(sorted(known))}"))
    if problems:
        raise ContentError(problems)
    return list(model.findings)


def default_template() -> Path:
    """The shipped ``monthly_analysis.ipynb`` that ``playbook report`` runs.

    Raises
    ------
    SourceError
        If the package was installed without its notebooks.
    """
    shipped = Path(str(resources.files("playbook") / "notebooks" / "monthly_analysis.ipynb"))
    if shipped.is_file():
        return shipped
    raise SourceError(str(shipped), "the monthly analysis notebook is missing from the installed package")


@dataclass
class MonthlyReport:
    """Everything the monthly analysis page shows, computed once, language-neutral.

    Build it with :func:`compute`; render it with the ``*_html`` methods and
    :meth:`figure` in ``zh`` or ``en``.
    """

    as_of: pd.Timestamp
    provenance: dict
    analyses: dict[str, Analysis]
    forecast: pd.DataFrame | None
    forecast_start: pd.DataFrame | None
    backtest: dict[str, pd.DataFrame] | None
    vintages: pd.DataFrame | None
    settings: dict = field(default_factory=dict)
    playbook: Playbook | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ helpers
    @property
    def pb(self) -> Playbook:
        if self.playbook is None:
            self.playbook = load_playbook()
        return self.playbook

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["playbook"] = None  # content is reloaded, not pickled
        return state

    def t(self, key: str, lang: str) -> str:
        """The report label ``key`` (``report.<key>`` in ``ui.yaml``)."""
        return self.pb.text(f"report.{key}", lang)

    def currency(self, lang: str) -> str:
        from .reasons import currency_label

        return currency_label(self.pb, lang, str(self.provenance.get("currency") or self.pb.currency))

    def bucket_names(self, lang: str) -> dict[str, str]:
        stage = self.pb.dimension("stage")
        return {c: stage.category(c).name(lang).split("（")[0].split(" (")[0] for c in BUCKETS}

    def period_text(self, name: str, lang: str) -> str:
        """The period of analysis ``name`` in words."""
        if name == "forecast":
            fit = self.settings.get("fit_months") or []
            if not fit:
                return self.t("na", lang)
            return self.t("period_forecast", lang).format(start=self.settings["start_month"], first=fit[0], last=fit[-1])
        p = self.analyses[name].period if name in self.analyses else {}
        if not p.get("start"):
            return self.t("na", lang)
        key = "period_months" if len(str(p["start"])) == 7 else "period_payments"
        return self.t(key, lang).format(start=p["start"], end=p["end"])

    # ------------------------------------------------------------------ facts and findings
    def facts(self) -> dict[str, Any]:
        """The named numbers of :data:`FACTS` (NaN where they cannot be computed)."""
        f: dict[str, Any] = {k: np.nan for k in FACTS}
        a = self.analyses
        rep = a.get("repayment")
        if rep is not None and rep.available:
            b = rep.tables["by_bucket"].set_index("bucket")
            tot = rep.tables["by_bucket"][["collected", "outstanding"]].sum()
            f.update(repay_accounts=float(b["accounts"].sum()),
                     repay_rate=tot["collected"] / tot["outstanding"] if tot["outstanding"] > 0 else np.nan,
                     repay_m1_rate=b.loc["M1", "repayment_rate"], repay_m3_rate=b.loc["M3+", "repayment_rate"])
            f["repay_m1_m3_gap_pp"] = (f["repay_m1_rate"] - f["repay_m3_rate"]) * 100
        de = a.get("delinquency")
        if de is not None and de.available:
            per = de.tables["accounts"]
            n = len(per)
            f.update(delinq_accounts=float(n),
                     delinq_repeat_share=(per["episodes"] >= 2).mean() if n else np.nan,
                     delinq_long_share=(per["longest_spell"] >= 3).mean() if n else np.nan)
            bm = de.tables["by_month"]
            if len(bm):
                f["delinq_last_month"] = f"{pd.Timestamp(bm['month'].iloc[-1]):%Y-%m}"
                f["delinq_rate_last"] = bm["delinquency_rate"].iloc[-1]
                if len(bm) >= 4:
                    f["delinq_rate_before"] = bm["delinquency_rate"].iloc[-4]
                    f["delinq_rate_change_pp"] = (f["delinq_rate_last"] - f["delinq_rate_before"]) * 100
        pr = a.get("promises")
        if pr is not None and pr.available:
            ov = pr.tables["overall"].iloc[0]
            f.update(promises_n=float(ov["promises"]), promises_kept_rate=ov["kept_rate"])
            am = pr.tables["by_amount"]
            edges = pr.period.get("amount_edges") or []
            if len(am) >= 2 and edges:
                top, rest = am.iloc[-1], am.iloc[:-1]
                f["promises_large_edge"] = float(edges[-1])
                f["promises_large_rate"] = top["kept_rate"]
                f["promises_small_rate"] = rest["kept"].sum() / rest["promises"].sum() if rest["promises"].sum() else np.nan
                f["promises_large_gap_pp"] = (f["promises_small_rate"] - f["promises_large_rate"]) * 100
            bb = pr.tables["by_broken_before"]
            first, after = bb.iloc[:1], bb.iloc[1:]
            if first["promises"].sum() and after["promises"].sum():
                f["promises_first_rate"] = first["kept"].sum() / first["promises"].sum()
                f["promises_after_broken_rate"] = after["kept"].sum() / after["promises"].sum()
                f["promises_after_broken_n"] = float(after["promises"].sum())
                f["promises_broken_gap_pp"] = (f["promises_first_rate"] - f["promises_after_broken_rate"]) * 100
        va = a.get("value")
        if va is not None and va.available and len(va.tables["deciles"]):
            d = va.tables["deciles"].iloc[0]
            f.update(value_accounts=float(len(va.tables["accounts"])), value_top_decile_share=d["value_share"],
                     value_top_decile_balance_share=d["balance_share"])
        ef = a.get("effectiveness")
        if ef is not None and ef.available:
            f["yield_days"] = float(ef.period.get("yield_days", np.nan))
            att = ef.tables["by_attempt"]
            f["eff_attempts"] = float(att["actions"].sum())
            if len(att):
                r1 = att["rpc_rate"].iloc[0]
                f["rpc_first_rate"] = r1
                low = att[(att["rpc_rate"] < r1 / 2) & (att.index > 0)]
                f["rpc_drop_attempt"] = float(str(low["attempt_band"].iloc[0]).rstrip("+")) if len(low) else 0.0
                f["rpc_drop_rate"] = low["rpc_rate"].iloc[0] if len(low) else np.nan
            f["min_hour_attempts"] = float(MIN_HOUR_ATTEMPTS)
            hr = ef.tables["by_hour"]
            hr = hr[hr["actions"] >= MIN_HOUR_ATTEMPTS].dropna(subset=["rpc_rate"])
            if len(hr) >= 2:
                best, worst = hr.loc[hr["rpc_rate"].idxmax()], hr.loc[hr["rpc_rate"].idxmin()]
                f.update(rpc_best_hour=float(best["hour"]), rpc_best_rate=best["rpc_rate"],
                         rpc_worst_hour=float(worst["hour"]), rpc_worst_rate=worst["rpc_rate"],
                         rpc_hour_gap_pp=(best["rpc_rate"] - worst["rpc_rate"]) * 100)
            ch = ef.tables["by_channel"].set_index("channel")
            if "visit" in ch.index:
                f["visit_actions"] = float(ch.loc["visit", "actions"])
                f["visit_cost_per_collected"] = ch.loc["visit", "cost_per_collected"]
        for name in ("repayment", "delinquency", "promises", "value", "effectiveness"):
            prefix = {"repayment": "repay", "delinquency": "delinq", "promises": "promises", "value": "value",
                      "effectiveness": "eff"}[name]
            if name in a and a[name].available and a[name].period.get("start"):
                f[f"{prefix}_period"] = "{start}~{end}".format(**a[name].period)
        if self.forecast is not None and self.forecast_start is not None:
            fc = self.forecast
            f["fc_start_month"] = self.settings.get("start_month", "")
            f["fc_m3_now_balance"] = float(self.forecast_start.loc["M3+", "balance"])
            m3 = fc[(fc["bucket"] == "M3+")].set_index("step")
            if 3 in m3.index:
                f["fc_m3_3m_balance"] = float(m3.loc[3, "balance"])
                if f["fc_m3_now_balance"] > 0:
                    f["fc_m3_change"] = f["fc_m3_3m_balance"] / f["fc_m3_now_balance"] - 1
            if 1 in m3.index:
                f.update(fc_inflow_next=m3.loc[1, "inflow_m3"], fc_inflow_next_lo=m3.loc[1, "inflow_m3_lo"],
                         fc_inflow_next_hi=m3.loc[1, "inflow_m3_hi"])
        if self.backtest is not None:
            ov = self.backtest["overall"].set_index("measure")
            if "accounts" in ov.index:
                f.update(bt_ratio=ov.loc["accounts", "ratio_to_naive"], bt_coverage=ov.loc["accounts", "coverage"],
                         bt_cells=float(ov.loc["accounts", "cells"]))
            months = self.backtest["cells"]["month"]
            f["bt_months"] = f"{pd.Timestamp(months.min()):%Y-%m}~{pd.Timestamp(months.max()):%Y-%m}"
        return f

    def _missing_text(self, table: str, lang: str) -> str:
        """What the report cannot compute without ``table``, in ``lang``."""
        key = f"report.missing_{table}"
        return self.pb.text(key if key in self.pb.labels else f"missing.{table}", lang)

    def na(self, lang: str) -> str:
        """A value that cannot be computed, in ``lang`` (the reason is stated next to it)."""
        return self.t("na_cell", lang)

    def _fmt(self, name: str, value: Any, lang: str) -> str:
        kind = FACTS[name][0]
        if kind == "text":
            return self.na(lang) if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
        if value is None or pd.isna(value):
            return self.na(lang)
        if kind == "rate":
            return fmt_rate(value)
        if kind == "signed":
            return fmt_rate(value, signed=True)
        if kind == "pp":
            return f"{float(value):.1f}"
        if kind == "ratio":
            return f"{float(value):.2f}"
        if kind == "money":
            return fmt_money(value, self.currency(lang))
        return fmt_int(value)

    def findings(self, lang: str) -> tuple[list[tuple[Finding, str]], list[tuple[Finding, list[str]]]]:
        """The rules that fired, each with its text in ``lang``, and the rules not tested
        (with the facts they lack)."""
        check_choice("lang", lang, ("zh", "en"))
        facts = self.facts()
        fired, untested = [], []
        for rule in load_findings(self.pb):
            expr = parse(rule.when)
            lacking = sorted(n for n in expr.names if not isinstance(facts[n], str) and pd.isna(facts[n]))
            if lacking:
                untested.append((rule, lacking))
                continue
            values = {n: facts[n] for n in expr.names}
            if bool(expr.evaluate(values)):
                text = rule.text(lang)
                fired.append((rule, _PLACEHOLDER.sub(lambda m: self._fmt(m[1], facts[m[1]], lang), text)))
        return fired, untested

    # ------------------------------------------------------------------ HTML
    def header_html(self, lang: str) -> str:
        """Title, as-of day and the data source (provenance), escaped."""
        p = self.provenance
        e = html.escape
        rows = "".join(
            f"<tr><td>{e(self.t(f'table_{t}', lang))}</td><td class='num'>{e(fmt_int(n)) if n else e(self.t('missing_table', lang))}</td></tr>"
            for t, n in p.get("rows", {}).items())
        return (f"<h1>{e(self.t('title', lang))}</h1><p><b>{e(self.t('as_of', lang))}</b> {self.as_of.date()}</p>"
                f"<h2>{e(self.t('source', lang))}</h2><p><b>{e(self.t('source_path', lang))}</b> {e(str(p.get('data', '')))}<br>"
                f"<b>{e(self.t('data_sha', lang))}</b> {e(str(p.get('data_sha256', '')))}<br>"
                f"<b>{e(self.t('version', lang))}</b> {e(str(p.get('playbook_version', '')))} "
                f"({e(self.t('content_version', lang))} {e(str(p.get('content_sha256', ''))[:12])})<br>"
                f"<b>{e(self.t('timezone', lang))}</b> {e(str(p.get('timezone', '')))} &nbsp; "
                f"<b>{e(self.t('currency', lang))}</b> {e(self.currency(lang))}</p>"
                f"<table class='pb'><tr><th>{e(self.t('table', lang))}</th><th class='num'>{e(self.t('rows', lang))}</th></tr>"
                f"{rows}</table>"
                + "".join(f"<p class='notice'>{e(self._missing_text(m, lang))}</p>" for m in p.get("missing", []))
                + f"<p class='note'>{e(self.t('masked', lang))}</p>")

    def methods_html(self, lang: str) -> str:
        """One paragraph per analysis: formula, period and denominator."""
        e = html.escape
        parts = [f"<h2>{e(self.t('methods', lang))}</h2>"]
        for name in (*ANALYSES, "forecast"):
            text = self.t(f"method_{name}", lang).format(days=self.settings.get("yield_days", 7),
                                                          k=self.settings.get("k_months", 6),
                                                          draws=self.settings.get("draws", 0))
            period = self.period_text(name, lang)
            tech = f"report.method_{name}_tech"
            if tech in self.pb.labels:
                text_tech = f"<p class='note'>{e(self.pb.text(tech, lang))}</p>"
            else:
                text_tech = ""
            parts.append(f"<h4>{e(self.t(f'name_{name}', lang))}</h4><p>{e(text)}</p>{text_tech}"
                         f"<p class='note'><b>{e(self.t('period', lang))}</b> {e(str(period))} · "
                         f"<b>{e(self.t('denominator', lang))}</b> {e(self.t(f'den_{name}', lang))}</p>")
        return "".join(parts)

    def section_html(self, name: str, lang: str) -> str:
        """The heading of one analysis and what it could not compute, in ``lang``."""
        e = html.escape
        out = f"<h3>{e(self.t(f'name_{name}', lang))}</h3>"
        if name in self.analyses:
            res = self.analyses[name]
            out += (f"<p class='note'><b>{e(self.t('period', lang))}</b> {e(self.period_text(name, lang))} · "
                    f"<b>{e(self.t('denominator', lang))}</b> {e(self.t(f'den_{name}', lang))}</p>")
            out += "".join(f"<p class='notice'>{e(self.t('na', lang))}: {e(self._missing_text(table, lang))}</p>"
                           for table in dict.fromkeys(res.needs))
            if name == "effectiveness" and res.available and "voice_attempts" in res.period:
                p = res.period
                out += "<p class='note'>" + e(self.t("hour_note", lang).format(
                    n=fmt_int(p["hour_fallback_attempts"]), accounts=fmt_int(p["hour_fallback_accounts"]),
                    zone=p["business_timezone"], total=fmt_int(p["voice_attempts"]), min=MIN_HOUR_ATTEMPTS)) + "</p>"
        elif name == "forecast" and self.forecast is not None:
            out += (f"<p class='note'><b>{e(self.t('period', lang))}</b> {e(self.period_text(name, lang))} · "
                    f"<b>{e(self.t('denominator', lang))}</b> {e(self.t('den_forecast', lang))}</p>")
        elif self.forecast is None:
            out += f"<p class='notice'>{e(self.t('na', lang))}: {e(self._missing_text('history', lang))}</p>"
        return out

    def table_html(self, name: str, lang: str) -> str:
        """The key table of one analysis, labelled in ``lang`` (empty when n/a)."""
        frame = self.table(name, lang)
        if frame is None or frame.empty:
            return ""
        na = frame.isin([NA]).to_numpy().any()
        frame = frame.replace({NA: self.na(lang)})
        note = f"<p class='note'>{html.escape(self.t(f'na_{name}', lang))}</p>" if na and f"report.na_{name}" in self.pb.labels else ""
        return _table_html(frame) + note + self._table_note(name, lang)

    def _table_note(self, name: str, lang: str) -> str:
        """The definitions a table's numbers need, under it (empty when none)."""
        e = html.escape
        if name == "value":
            r = self.analyses["value"]
            p = r.period
            if not np.isfinite(p.get("reference_value", np.nan)):
                return ""
            cur = self.currency(lang)
            text = self.t("value_reference", lang).format(
                p=fmt_rate(p["mean_propensity"]), b=fmt_money(p["mean_balance"], cur), ref=fmt_money(p["reference_value"], cur),
                mean=fmt_money(p["mean_value"], cur))
            miss = p.get("no_estimate", 0)
            counts = self.t("value_counts", lang).format(
                estimated=fmt_int(p.get("estimated_on")), valued=fmt_int(p.get("valued")), accounts=fmt_int(p.get("accounts")),
                overdue=fmt_int(p.get("overdue")), no_estimate=self.t("value_no_estimate", lang).format(n=fmt_int(miss)) if miss else "")
            out = f"<p class='note'>{e(text)}</p><p class='note'>{e(counts)}</p>"
            if "start_history_accounts" in p:
                key = "value_start_source" if p["start_today_accounts"] else "value_start_all_history"
                out += "<p class='note'>" + e(self.t(key, lang).format(
                    history=fmt_int(p["start_history_accounts"]), today=fmt_int(p["start_today_accounts"]))) + "</p>"
            if "propensity" in r.tables and len(r.tables["propensity"]):
                g = r.tables["propensity"].groupby("stage", observed=True)[["accounts", "payers"]].sum()
                g = g.reindex([b for b in BUCKETS if b in g.index])
                names = self.bucket_names(lang)
                out += _table_html(pd.DataFrame({
                    self.t("stage_start", lang): [names.get(b, b) for b in g.index],
                    self.t("accounts", lang): g["accounts"].map(fmt_int), self.t("payers", lang): g["payers"].map(fmt_int),
                    self.t("propensity", lang): [fmt_rate(x) for x in g["payers"] / g["accounts"]]}))
            return out
        return ""

    def table(self, name: str, lang: str) -> pd.DataFrame | None:
        """The key table of one analysis as shown on the page (formatted text cells)."""
        t = lambda k: self.t(k, lang)  # noqa: E731
        cur = self.currency(lang)
        unit = (lambda k: f"{t(k)}（{cur}）") if lang == "zh" else (lambda k: f"{t(k)} ({cur})")
        names = self.bucket_names(lang)
        if name == "repayment":
            r = self.analyses["repayment"]
            if not r.available:
                return None
            b = r.tables["by_bucket"]
            return pd.DataFrame({t("bucket"): b["bucket"].astype(str).map(names), t("accounts"): b["accounts"].map(fmt_int),
                                 unit("outstanding"): b["outstanding"].map(fmt_int), unit("collected"): b["collected"].map(fmt_int),
                                 t("repayment_rate"): b["repayment_rate"].map(fmt_rate), t("payer_rate"): b["payer_rate"].map(fmt_rate)})
        if name == "promises":
            r = self.analyses["promises"]
            if not r.available:
                return None
            ty = r.tables["by_type"]
            return pd.DataFrame({t("promise_type"): ty["type"].map(lambda x: _channel_label(x, self.pb, lang)),
                                 t("promises"): ty["promises"].map(fmt_int), t("kept_rate"): ty["kept_rate"].map(fmt_rate)})
        if name == "effectiveness":
            r = self.analyses["effectiveness"]
            if not r.available:
                return None
            c = r.tables["by_channel"]
            return pd.DataFrame({t("channel"): c["channel"].map(lambda x: _channel_label(x, self.pb, lang)),
                                 t("actions"): c["actions"].map(fmt_int), unit("cost"): c["cost"].map(fmt_int),
                                 t("rpc_rate"): c["rpc_rate"].map(fmt_rate), unit("collected"): c["collected"].map(fmt_int),
                                 unit("yield_per_action"): c["yield_per_action"].map(lambda v: fmt_money(v, None, 1)),
                                 t("cost_per_collected"): c["cost_per_collected"].map(fmt_rate)})
        if name == "value":
            r = self.analyses["value"]
            if not r.available or "contribution" not in r.tables:
                return None
            c = r.tables["contribution"]
            stage = self.pb.dimension("stage")
            return pd.DataFrame({t("stage_today"): c["stage"].map(lambda s: stage.category(s).name(lang) if s in stage.ids else s),
                                 t("accounts"): c["accounts"].map(fmt_int), t("propensity"): c["propensity"].map(fmt_rate),
                                 unit("value_gap"): c["gap"].map(fmt_int), unit("from_propensity"): c["from_propensity"].map(fmt_int),
                                 unit("from_balance"): c["from_balance"].map(fmt_int)})
        if name == "forecast":
            if self.forecast is None:
                return None
            fc = self.forecast
            months = pd.date_range(pd.Timestamp(self.settings["start_month"]) + pd.DateOffset(months=1),
                                   periods=int(fc["step"].max()), freq="MS")
            rows = []
            for s, m in zip(range(1, int(fc["step"].max()) + 1), months):
                g = fc[fc["step"] == s].set_index("bucket")
                row = {t("months_ahead"): f"{m:%Y-%m}"}
                for bkt in BUCKETS:
                    row[names[bkt]] = (f"{fmt_int(g.loc[bkt, 'accounts'])} ({fmt_int(g.loc[bkt, 'accounts_lo'])}–"
                                       f"{fmt_int(g.loc[bkt, 'accounts_hi'])})")
                row[t("inflow_m3")] = (f"{fmt_int(g.loc['M3+', 'inflow_m3'])} ({fmt_int(g.loc['M3+', 'inflow_m3_lo'])}–"
                                       f"{fmt_int(g.loc['M3+', 'inflow_m3_hi'])})")
                rows.append(row)
            return pd.DataFrame(rows)
        if name == "backtest":
            if self.backtest is None:
                return None
            s = pd.concat([self.backtest["summary"], self.backtest["overall"].assign(bucket="__all__")], ignore_index=True)
            label = {**names, "__all__": t("all_buckets")}
            return pd.DataFrame({t("measure"): s["measure"].map(lambda m: t(f"{m}_measure")),
                                 t("bucket"): s["bucket"].map(label),
                                 t("mae"): s["mae"].map(fmt_int), t("naive_mae"): s["naive_mae"].map(fmt_int),
                                 t("ratio_to_naive"): s["ratio_to_naive"].map(lambda v: NA if pd.isna(v) else f"{v:.2f}"),
                                 t("mape"): s["mape"].map(fmt_rate), t("coverage"): s["coverage"].map(fmt_rate)})
        return None

    def findings_html(self, lang: str) -> str:
        """The findings that fired, each quoting its number, and the rules not tested."""
        e = html.escape
        fired, untested = self.findings(lang)
        out = f"<h2>{e(self.t('findings', lang))}</h2>"
        out += ("<ol>" + "".join(f"<li>{e(text)}</li>" for _, text in fired) + "</ol>") if fired else \
            f"<p>{e(self.t('no_findings', lang))}</p>"
        if untested:
            by: dict[str, list[str]] = {}
            for r, names in untested:
                for a in sorted({_analysis_of(n) for n in names}):
                    by.setdefault(a, []).append(r.name(lang))
            out += (f"<p class='note'><b>{e(self.t('not_tested', lang))}</b></p><ul class='note'>"
                    + "".join(f"<li>{e(self.t(f'name_{a}', lang))}: {e(self.t('list_sep', lang).join(ids))}</li>"
                              for a, ids in by.items())
                    + "</ul>")
        return out

    def recommendations_html(self, lang: str) -> str:
        """One recommendation per finding that fired, with its tactics and strategies."""
        from .strategy import get_strategy

        e = html.escape
        fired, _ = self.findings(lang)
        out = f"<h2>{e(self.t('recommendations', lang))}</h2>"
        if not fired:
            return out + f"<p>{e(self.t('no_findings', lang))}</p>"
        items = []
        data = self.provenance.get("data", "DATA")
        for i, (rule, _) in enumerate(fired, 1):
            rec = rule.recommend
            part = f"<li><p><b>({i})</b> {e(rec.text(lang))}</p>"
            tactics = []
            for ref in rec.tactics:
                c = self.pb.dimension(ref["dimension"]).category(ref["category"])
                tactics.append(f"<li><b>{e(c.name(lang))}</b>: " + "; ".join(e(x(lang)) for x in c.tactics[:3]) + "</li>")
            if tactics:
                part += f"<p class='note'>{e(self.t('see_tactics', lang))}</p><ul>{''.join(tactics)}</ul>"
            if rec.strategies:
                names = ", ".join(e(get_strategy(s).name(lang)) for s in rec.strategies)
                part += f"<p class='note'>{e(self.t('see_strategies', lang))}: {names}</p>"
                if self.provenance.get("whatif", True):  # the command is for the analyst, folded away
                    mapping = self.provenance.get("mapping")
                    cmd = (f"playbook whatif {data}" + (f" --mapping {mapping}" if mapping else "")
                           + f" --strategies champion {' '.join(rec.strategies)}")
                    part += (f"<details class='note'><summary>{e(self.t('whatif_cmd', lang))}</summary>"
                             f"<code>{e(cmd)}</code></details>")
            items.append(part + "</li>")
        return out + "<ul style='list-style:none;padding-left:0'>" + "".join(items) + "</ul>"

    # ------------------------------------------------------------------ charts
    def figure(self, name: str, lang: str) -> Figure | None:
        """The chart of one analysis (:data:`CHARTS`), labelled in ``lang``; None when n/a."""
        check_choice("chart", name, CHARTS)
        from . import plots

        lang = plots.chart_lang(lang)
        draw = getattr(self, f"_fig_{name}")
        return draw(lang)

    def _fig_repayment(self, lang: str) -> Figure | None:
        import matplotlib.pyplot as plt
        import seaborn as sns

        r = self.analyses["repayment"]
        if not r.available:
            return None
        t = lambda k: self.t(k, lang)  # noqa: E731
        m = r.tables["rate_matrix"].astype(float).rename(index=self.bucket_names(lang))
        fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
        sns.heatmap(m, annot=True, fmt=".1%", cmap="Greens", cbar=False, ax=axes[0], linewidths=0.5)
        axes[0].set_title(t("repayment_rate"))
        axes[0].set_xlabel(f"{t('balance_band')} ({self.currency(lang)})")
        axes[0].set_ylabel(t("bucket"))
        b = r.tables["by_bucket"]
        axes[1].bar(b["bucket"].astype(str).map(self.bucket_names(lang)), b["payer_rate"], color="#4C72B0")
        axes[1].set_title(t("payer_rate"))
        axes[1].set_xlabel(t("bucket"))
        axes[1].set_ylabel(t("payer_rate"))
        axes[1].yaxis.set_major_formatter(_pct())
        fig.tight_layout()
        return fig

    def _fig_delinquency(self, lang: str) -> Figure | None:
        import matplotlib.pyplot as plt

        r = self.analyses["delinquency"]
        t = lambda k: self.t(k, lang)  # noqa: E731
        fig, axes = plt.subplots(1, 3 if r.available else 1, figsize=(14 if r.available else 5, 3.6), squeeze=False)
        axes = axes[0]
        amt = r.tables["amount"]
        axes[-1].bar(amt["band"].astype(str), amt["accounts"], color="#8172B2")
        axes[-1].set_title(t("overdue_band"))
        axes[-1].set_xlabel(f"{t('overdue_band')} ({self.currency(lang)})")
        axes[-1].set_ylabel(t("accounts"))
        axes[-1].tick_params(axis="x", labelsize=8)
        if r.available:
            md = r.tables["months_delinquent"]
            axes[0].bar(md["months_delinquent"], md["accounts"], color="#C44E52")
            axes[0].set_title(t("months_delinquent"))
            axes[0].set_xlabel(t("months_delinquent"))
            axes[0].set_ylabel(t("accounts"))
            bm = r.tables["by_month"]
            axes[1].plot(pd.to_datetime(bm["month"]).dt.strftime("%Y-%m"), bm["delinquency_rate"], marker="o", color="#C44E52")
            axes[1].set_title(t("delinquency_rate"))
            axes[1].set_xlabel(t("month"))
            axes[1].set_ylabel(t("delinquency_rate"))
            axes[1].yaxis.set_major_formatter(_pct())
            axes[1].tick_params(axis="x", rotation=60, labelsize=8)
        fig.tight_layout()
        return fig

    def _fig_promises(self, lang: str) -> Figure | None:
        import matplotlib.pyplot as plt

        r = self.analyses["promises"]
        if not r.available:
            return None
        t = lambda k: self.t(k, lang)  # noqa: E731
        fig, axes = plt.subplots(1, 3, figsize=(14, 3.6))
        for ax, (tab, col, label) in zip(axes, (("by_amount", "amount_band", "amount_band"), ("by_days", "days_band", "days_band"),
                                                ("by_broken_before", "broken_before_band", "broken_before"))):
            d = r.tables[tab]
            d = d[d["promises"] > 0]
            ax.bar(d[col].astype(str), d["kept_rate"], color="#55A868")
            for x, (v, n) in enumerate(zip(d["kept_rate"], d["promises"])):
                ax.annotate(f"{v:.0%}\nn={n:,}", (x, v), ha="center", va="bottom", fontsize=7)
            ax.set_title(t(label))
            ax.set_xlabel(f"{t(label)} ({self.currency(lang)})" if label == "amount_band" else t(label))
            ax.set_ylabel(t("kept_rate"))
            ax.set_ylim(0, 1.05)
            ax.yaxis.set_major_formatter(_pct())
            ax.tick_params(axis="x", labelsize=8)
        fig.tight_layout()
        return fig

    def _fig_value(self, lang: str) -> Figure | None:
        import matplotlib.pyplot as plt

        r = self.analyses["value"]
        if not r.available:
            return None
        t = lambda k: self.t(k, lang)  # noqa: E731
        d = r.tables["deciles"]
        fig, ax = plt.subplots(figsize=(8, 3.6))
        x = np.arange(len(d))
        ax.bar(x - 0.2, d["value_share"], width=0.4, label=t("value_share"), color="#4C72B0")
        ax.bar(x + 0.2, d["balance_share"], width=0.4, label=t("balance_share"), color="#DD8452")
        ax.set_xticks(x, [str(i) for i in d["decile"]])
        ax.set_xlabel(t("decile"))
        ax.set_ylabel(t("share"))
        ax.set_title(t("name_value"))
        ax.yaxis.set_major_formatter(_pct())
        ax.legend(fontsize=8)
        fig.tight_layout()
        return fig

    def _fig_effectiveness(self, lang: str) -> Figure | None:
        import matplotlib.pyplot as plt

        r = self.analyses["effectiveness"]
        if not r.available:
            return None
        t = lambda k: self.t(k, lang)  # noqa: E731
        fig, axes = plt.subplots(1, 2, figsize=(12, 3.6))
        h = r.tables["by_hour"]
        h = h[h["actions"] >= MIN_HOUR_ATTEMPTS]
        axes[0].bar(h["hour"].astype(int).astype(str), h["rpc_rate"], color="#4C72B0")
        axes[0].set_title(f"{t('rpc_rate')} · {t('hour')}")
        axes[0].set_xlabel(t("hour"))
        axes[0].set_ylabel(t("rpc_rate"))
        a = r.tables["by_attempt"]
        axes[1].bar(a["attempt_band"].astype(str), a["rpc_rate"], color="#C44E52")
        axes[1].set_title(f"{t('rpc_rate')} · {t('attempt')}")
        axes[1].set_xlabel(t("attempt"))
        axes[1].set_ylabel(t("rpc_rate"))
        for ax in axes:
            ax.yaxis.set_major_formatter(_pct())
        fig.tight_layout()
        return fig

    def _fig_forecast(self, lang: str) -> Figure | None:
        import matplotlib.pyplot as plt

        if self.forecast is None:
            return None
        t = lambda k: self.t(k, lang)  # noqa: E731
        fc, start = self.forecast, self.forecast_start
        names = self.bucket_names(lang)
        m0 = pd.Timestamp(self.settings["start_month"])
        fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
        colors = dict(zip(BUCKETS, ("#55A868", "#CCB974", "#DD8452", "#C44E52")))
        for bkt in BUCKETS[1:]:
            g = fc[fc["bucket"] == bkt].sort_values("step")
            xs = [m0] + [m0 + pd.DateOffset(months=int(s)) for s in g["step"]]
            for ax, col, scale in ((axes[0], "accounts", 1.0), (axes[1], "balance", 1.0)):
                y = [float(start.loc[bkt, col])] + list(g[col] * scale)
                lo = [y[0]] + list(g[f"{col}_lo"])
                hi = [y[0]] + list(g[f"{col}_hi"])
                labels = [f"{x:%Y-%m}" for x in xs]
                ax.plot(labels, y, marker="o", color=colors[bkt], label=names[bkt])
                ax.fill_between(labels, lo, hi, color=colors[bkt], alpha=0.2)
        axes[0].set_title(t("projected_accounts"))
        axes[0].set_ylabel(t("accounts"))
        axes[1].set_title(t("projected_balance"))
        axes[1].set_ylabel(f"{t('outstanding')} ({self.currency(lang)})")
        for ax in axes:
            ax.set_xlabel(t("months_ahead"))
            ax.legend(fontsize=8)
            ax.tick_params(axis="x", rotation=45, labelsize=8)
        axes[1].yaxis.set_major_formatter(_thousands())
        fig.tight_layout()
        return fig

    def _fig_vintage(self, lang: str) -> Figure | None:
        import matplotlib.pyplot as plt

        v = self.vintages
        if v is None or v.empty:
            return None
        t = lambda k: self.t(k, lang)  # noqa: E731
        fig, ax = plt.subplots(figsize=(8, 3.6))
        shown = sorted(v["vintage"].unique())[-12:]
        for vin in shown:
            g = v[v["vintage"] == vin]
            ax.plot(g["months_on_book"], g["cumulative_rate"], marker=".", label=f"{pd.Timestamp(vin):%Y-%m}")
        ax.set_title(t("cumulative_rate"))
        ax.set_xlabel(t("months_on_book"))
        ax.set_ylabel(t("cumulative_rate"))
        ax.yaxis.set_major_formatter(_pct())
        ax.legend(title=t("vintage"), fontsize=7, ncol=2)
        fig.tight_layout()
        return fig

    def vintage_note_html(self, lang: str) -> str:
        v = self.vintages
        if v is not None and not v.empty and v["vintage"].nunique() == 1:
            return f"<p class='note'>{html.escape(self.t('vintage_one', lang))}</p>"
        return ""

    def backtest_html(self, lang: str) -> str:
        e = html.escape
        out = f"<h4>{e(self.t('backtest', lang))}</h4>"
        if self.backtest is None:
            return out + f"<p class='notice'>{e(self.t('backtest_na', lang))}</p>"
        return out + f"<p class='note'>{e(self.t('backtest_note', lang))}</p>" + self.table_html("backtest", lang)

    def save(self, path: str | Path) -> Path:
        """Write the report's data (no content, no personal data) for the notebook to read."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "wb") as fh:
            pickle.dump(self, fh)
        tmp.replace(path)
        return path

    @staticmethod
    def load(path: str | Path) -> "MonthlyReport":
        """Read a report written by :meth:`save` (only files this package wrote)."""
        with open(path, "rb") as fh:
            return pickle.load(fh)  # noqa: S301 - our own cache file in the run's output folder


def _pct():  # noqa: ANN202
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0, decimals=0)


def _thousands():  # noqa: ANN202
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _: f"{v:,.0f}")


def _analysis_of(fact: str) -> str:
    """The analysis a fact of :data:`FACTS` comes from."""
    prefix = fact.split("_")[0]
    return {"repay": "repayment", "delinq": "delinquency", "promises": "promises", "value": "value",
            "fc": "forecast", "bt": "forecast"}.get(prefix, "effectiveness")


def _channel_label(value: str, pb: Playbook, lang: str) -> str:
    """``call outbound`` -> ``电话（呼出）`` / ``Call (outbound)`` with costs.yaml's names."""
    parts = str(value).split(" ")
    ch = pb.costs[parts[0]].name(lang) if parts[0] in pb.costs else parts[0]
    if len(parts) == 1:
        return ch
    key = f"report.dir_{parts[1]}"
    d = pb.text(key, lang) if key in pb.labels else parts[1]
    return f"{ch}（{d}）" if lang == "zh" else f"{ch} ({d})"


_CSS = ("<style>table.pb{border-collapse:collapse;font-size:.9em}table.pb th,table.pb td{padding:4px 8px;"
        "border-bottom:1px solid #e3e3e3;text-align:left!important}table.pb td.num,table.pb th.num"
        "{text-align:right!important;white-space:nowrap}.note{color:#555;font-size:.85em}"
        ".notice{color:#8a5a00}</style>")


def _table_html(frame: pd.DataFrame) -> str:
    """An escaped table of already formatted cells; the first column left, the rest right."""
    e = html.escape
    head = "".join(f"<th class='{'txt' if i == 0 else 'num'}'>{e(str(c))}</th>" for i, c in enumerate(frame.columns))
    body = "".join("<tr>" + "".join(f"<td class='{'txt' if i == 0 else 'num'}'>{e(str(v))}</td>" for i, v in enumerate(r))
                   + "</tr>" for r in frame.itertuples(index=False))
    return f"{_CSS}<table class='pb'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def style_html() -> str:
    """The page's CSS (tables, notes, notices)."""
    return _CSS


@share_docs
def compute(data: Portfolio, as_of: str | pd.Timestamp, *, source: str = "(portfolio)", k_months: int = 6,
            horizon: int = 6, draws: int = 300, seed: int = 0, currency: str | None = None,
            mapping: str | None = None, whatif: bool = True, playbook: Playbook | None = None) -> MonthlyReport:
    """Run every analysis, the forecast, the vintages and the backtest once.

    Parameters
    ----------
    data : Portfolio
        The portfolio (loaded and validated).
    {as_of}
    source : str
        Where the data came from, as the page shows it.
    k_months : int
        Month pairs the roll-rate matrix is fitted on.
    horizon : int
        Months forecast.
    draws : int
        Resampled matrices for the intervals.
    seed : int
        Seed of the resampling.
    currency : str, optional
        The currency amounts are in; default ``costs.yaml``'s.
    mapping : str, optional
        The mapping the data was read with (named in the what-if commands shown).
    whatif : bool
        Whether ``playbook whatif`` can read ``source`` (the page then shows the command).
    {playbook}

    Returns
    -------
    MonthlyReport
    """
    from .errors import ArgumentError
    from .forecast import backtest, book_at, fit_roll, project, vintage_curves
    from .prepared import prepare

    day = check_date("as_of", as_of)
    k_months = check_positive_int("k_months", k_months)
    horizon = check_positive_int("horizon", horizon)
    draws = check_positive_int("draws", draws)
    pb = playbook or load_playbook()
    prep = prepare(data, day, playbook=pb)
    analyses = run_all(prep)
    hist = data.history
    hist = hist[hist["month"] <= day.to_period("M").to_timestamp()] if len(hist) else hist
    fc = start = bt = vint = None
    settings: dict[str, Any] = {"k_months": k_months, "horizon": horizon, "draws": draws, "seed": seed,
                                "yield_days": analyses["effectiveness"].period.get("yield_days", 7), "method": "months"}
    if len(hist) and hist["month"].nunique() >= 2:
        last = hist["month"].max()
        fit = fit_roll(hist, months=k_months)
        start = book_at(hist, last)
        fc = project(fit, start, horizon=horizon, draws=draws, method="months", seed=seed)
        settings["start_month"] = f"{last:%Y-%m}"
        settings["fit_months"] = [f"{m:%Y-%m}" for m in fit.months]
        try:
            bt = backtest(hist, horizon=2, months=k_months, draws=min(draws, 200), method="months", seed=seed)
        except ArgumentError:
            bt = None
        vint = vintage_curves(hist)
    prov = {"data": source, "data_sha256": data.sha256, "as_of": str(day.date()), "playbook_version": __version__,
            "content_sha256": pb.content_sha256, "timezone": prep.timezone, "currency": currency or data.currency or pb.currency,
            "rows": {t: len(f) for t, f in data.tables().items()}, "missing": list(data.missing),
            "mapping": mapping, "whatif": whatif}
    return MonthlyReport(as_of=day, provenance=prov, analyses=analyses, forecast=fc, forecast_start=start,
                         backtest=bt, vintages=vint, settings=settings, playbook=pb)


def run_report(data: str | Path | Portfolio, as_of: str, *, out: str | Path = "reports", lang: str = "en",
               mapping: str | Path | None = None, dataset: str | None = None, currency: str | None = None,
               draws: int = 300, template: str | Path | None = None, log=print) -> dict:  # noqa: ANN001
    """Write the monthly analysis report for ``data`` as of ``as_of`` under ``out/<as_of>/``.

    Everything is checked first (date, language, data against the contract, that ``out``
    is writable); bad input raises a :class:`~playbook.errors.PlaybookError` (exit code 2)
    and writes nothing. The analyses run once in this process; the notebook
    ``monthly_analysis.ipynb`` then renders them with papermill into
    ``monthly_analysis_<lang>.html`` (no code, no warnings: they go to the result). Returns
    ``{"status", "html", "ipynb", "seconds", "error", "warnings", "findings"}`` and writes
    it as ``monthly_analysis_<lang>.json``.

    ``dataset="uci"`` reads ``data`` as the UCI credit card file
    (:func:`playbook.datasets.uci_portfolio`, amounts in TWD unless ``currency`` says).
    """
    day = check_date("as_of", as_of)
    check_choice("lang", lang, ("zh", "en"))
    draws = check_positive_int("draws", draws)
    if dataset is not None:
        check_choice("dataset", dataset, ("uci",))
    template = Path(template) if template else default_template()
    if not template.is_file():
        raise SourceError(str(template), "monthly analysis notebook not found")
    out_dir = Path(out) / str(day.date())
    check_writable(out_dir)
    pb = load_playbook()
    load_findings(pb)  # a content error stops here, before anything runs
    t0 = time.perf_counter()
    if isinstance(data, Portfolio):
        pf, where = data, "(portfolio)"
    elif dataset == "uci":
        from .datasets import uci_portfolio

        pf, where = uci_portfolio(data), str(Path(data).resolve())
        currency = currency or "TWD"
    else:
        from .loading import load_portfolio

        pf = load_portfolio(data, mapping, playbook=pb)
        where = str(Path(data).resolve()) if "://" not in str(data) else str(data)
    for table in pf.missing:
        log(f"note: {pb.text(f'missing.{table}', 'en')}")
    rep = compute(pf, day, source=where, currency=currency, draws=draws, playbook=pb,
                  mapping=str(Path(mapping).resolve()) if mapping else None, whatif=dataset is None)
    log(f"analysed the portfolio in {time.perf_counter() - t0:.1f}s")
    out_dir.mkdir(parents=True, exist_ok=True)
    cache = rep.save(out_dir / ".report" / "monthly_analysis.pkl")
    stem = f"monthly_analysis_{lang}"
    title = f"{pb.text('report.title', lang)} · {day.date()}"
    res = run_notebook(template, out_dir / f"{stem}.ipynb", out_dir / f"{stem}.html",
                       {"data_path": where, "as_of": str(day.date()), "lang": lang, "prepared": str(cache.resolve())},
                       title=title)
    fired, untested = rep.findings(lang)
    result = {**res, "html": str(out_dir / f"{stem}.html"), "ipynb": str(out_dir / f"{stem}.ipynb"),
              "as_of": str(day.date()), "lang": lang, "data": where, "data_sha256": pf.sha256,
              "playbook_version": __version__, "missing_tables": list(pf.missing),
              "findings": [{"id": r.id, "text": text} for r, text in fired],
              "not_tested": [{"id": r.id, "name": r.name(lang), "needs": n} for r, n in untested]}
    write_json_atomic(out_dir / f"{stem}.json", result)
    return result
