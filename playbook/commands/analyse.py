"""``playbook analyse DATA --as-of D``: the five analyses, the roll-rate forecast and the findings."""

from __future__ import annotations

import argparse
import json
import math

from . import DATA_HELP, JSON_HELP, LANG, LANG_HELP, MAPPING_HELP

NAME = "analyse"
DATASET_HELP = "read DATA as a public data set instead: uci (the UCI credit card file, playbook.datasets.uci_portfolio)"
CURRENCY_HELP = "the currency the amounts are in (default: costs.yaml's; TWD for --dataset uci)"


def add_parser(sub: "argparse._SubParsersAction") -> None:
    """Add the ``analyse`` sub-parser."""
    p = sub.add_parser(NAME, help="repayment, delinquency, promise, value and action analyses with a roll-rate forecast",
                       description="The seed's five analyses (repayment rate by bucket x balance band; delinquency "
                                   "frequency, duration and amount; promise reliability; customer value; cost and "
                                   "yield per action type, channel, hour and attempt), the roll-rate forecast with "
                                   "its backtest on the data's own history, and the findings of content/analysis.yaml. "
                                   "Each table states its period and denominator; what a missing table prevents is n/a.")
    add_common(p)
    p.add_argument("--json", action="store_true", help=JSON_HELP)


def add_common(p: argparse.ArgumentParser) -> None:
    """The options ``analyse`` and ``report`` share."""
    p.add_argument("data", help=DATA_HELP)
    p.add_argument("--as-of", required=True, help="the day the analyses are as of, e.g. 2026-11-29")
    p.add_argument("--mapping", help=MAPPING_HELP)
    p.add_argument("--dataset", choices=["uci"], help=DATASET_HELP)
    p.add_argument("--currency", help=CURRENCY_HELP)
    p.add_argument("--lang", choices=["zh", "en"], default=LANG, help=LANG_HELP)


def load_for(a: argparse.Namespace):  # noqa: ANN201 - (Portfolio, source text, currency)
    """The portfolio of ``a.data`` (as a data set with ``--dataset``), its source and currency."""
    from pathlib import Path

    if a.dataset == "uci":
        from ..datasets import uci_portfolio

        return uci_portfolio(a.data), str(Path(a.data).resolve()), a.currency or "TWD"
    from . import load

    return load(a), str(a.data), a.currency


def _clean(x):  # noqa: ANN001, ANN202
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return None
    if hasattr(x, "item"):
        return _clean(x.item())
    return x


def run(a: argparse.Namespace) -> int:
    """Compute and print (or dump as JSON) every analysis, the forecast and the findings."""
    from .._checks import check_date
    from ..formatting import fmt_int, fmt_rate, render_table, wrap
    from ..report import compute

    day = check_date("as_of", a.as_of)
    pf, source, currency = load_for(a)
    rep = compute(pf, day, source=source, currency=currency, mapping=a.mapping, whatif=a.dataset is None)
    lang = a.lang
    fired, untested = rep.findings(lang)
    if a.json:
        body = {"as_of": str(day.date()), "data": source, "missing": list(pf.missing),
                "analyses": {k: v.to_dict() for k, v in rep.analyses.items() if k != "value"},
                "facts": {k: _clean(v) for k, v in rep.facts().items()},
                "findings": [{"id": r.id, "text": t} for r, t in fired],
                "not_tested": [{"id": r.id, "needs": n} for r, n in untested]}
        value = rep.analyses["value"].to_dict()
        value["tables"].pop("accounts", None)  # one row per account: use the Python API
        body["analyses"]["value"] = value
        body["analyses"]["delinquency"]["tables"].pop("accounts", None)
        if rep.forecast is not None:
            body["forecast"] = {"start_month": rep.settings["start_month"], "fit_months": rep.settings["fit_months"],
                                "projection": json.loads(rep.forecast.to_json(orient="records")),
                                "backtest": (json.loads(rep.backtest["summary"].to_json(orient="records"))
                                             if rep.backtest is not None else None)}
        print(json.dumps(body, ensure_ascii=False, indent=2, default=str))
        return 0
    t = lambda k: rep.t(k, lang)  # noqa: E731
    print(wrap(f"{t('title')} · {t('as_of')} {day.date()} · {source}"))
    for name in ("repayment", "delinquency", "promises", "value", "effectiveness", "forecast", "backtest"):
        key = "forecast" if name == "backtest" else name
        print()
        print(t("backtest") if name == "backtest" else t(f"name_{name}"))
        if name != "backtest":
            period = rep.period_text(key, lang)
            print(wrap(f"{t('period')}: {period}; {t('denominator')}: {t(f'den_{key}')}"))
        if name in rep.analyses:
            for m in rep.analyses[name].missing:
                print(wrap(f"n/a: {m}"))
        frame = rep.table(name, lang)
        if name == "delinquency" and rep.analyses[name].available:
            md = rep.analyses[name].tables["months_delinquent"]
            frame = md.assign(accounts=md["accounts"].map(fmt_int), share=md["share"].map(fmt_rate))
            frame.columns = [t("months_delinquent"), t("accounts"), t("share")]
        if frame is None or frame.empty:
            if name in ("forecast", "backtest") and rep.forecast is None:
                print("n/a")
            continue
        print(render_table([str(c) for c in frame.columns], frame.astype(str).values.tolist()))
    print()
    print(t("findings"))
    for i, (_, text) in enumerate(fired, 1):
        print(wrap(f"{i}. {text}"))
    if not fired:
        print(t("no_findings"))
    if untested:
        print(wrap(f"{t('not_tested')}: " + ", ".join(r.id for r, _ in untested)))
    return 0
