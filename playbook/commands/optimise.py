"""``playbook optimise DATA --pack P``: the treatment per segment cell that collects the most net of cost."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from . import DATA_HELP, JSON_HELP, LANG, LANG_HELP, MAPPING_HELP, PACK_HELP, load

NAME = "optimise"


def add_parser(sub: "argparse._SubParsersAction") -> None:
    """Add the ``optimise`` sub-parser."""
    p = sub.add_parser(NAME, help="choose the best lawful treatment per segment cell (MILP)",
                       description="Choose a treatment per segment cell (behavioural type x contactability x stage) "
                                   "from the admissible treatments of the shipped strategies to maximise expected net "
                                   "collected within collector hours per team, an optional budget and legal share, "
                                   "and every rule of the pack. Prints the uplift over the champion with its 90% "
                                   "interval, the binding constraints with their shadow prices and the efficient "
                                   "frontier; writes the strategy YAML (--out) that 'playbook whatif' accepts.")
    p.add_argument("data", help=DATA_HELP)
    p.add_argument("--pack", default="cn", help=PACK_HELP)
    p.add_argument("--out", type=Path, default=None, metavar="FILE.yaml",
                   help="write the optimised strategy here (for playbook whatif --strategies FILE.yaml)")
    p.add_argument("--chart", type=Path, default=None, metavar="FILE.png",
                   help="write the efficient-frontier chart (net against collector hours) here")
    p.add_argument("--as-of", default=None, help="the first day planned; default: the day after the last interaction")
    p.add_argument("--horizon", type=int, default=90, help="days planned (default: %(default)s)")
    p.add_argument("--draws", type=int, default=500,
                   help="Monte Carlo draws of each cell's value (default: %(default)s); the uplift uses 2,000")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    p.add_argument("--hours", nargs="+", default=[], metavar="TEAM=HOURS",
                   help="collector hours of a team over the horizon, e.g. mid=900 (default: teams.yaml: "
                        "collectors x hours a day x working days)")
    p.add_argument("--capacity-scale", type=float, default=1.0,
                   help="multiply every team's hours, e.g. 0.5 for half the collectors (default: %(default)s)")
    p.add_argument("--budget", type=float, default=None,
                   help="most the treatments may cost over the horizon (calls, SMS, visits, legal, agency)")
    p.add_argument("--max-legal-share", type=float, default=None, metavar="SHARE",
                   help="most accounts, as a share of all (e.g. 0.05), given a treatment that escalates to legal "
                        "(default: the share of accounts in the last bucket, M3+, today; 1 lifts the cap)")
    p.add_argument("--risk", type=float, default=None, metavar="Q",
                   help="maximise the Q quantile of net per cell (e.g. 0.1) instead of its mean")
    p.add_argument("--add-strategies", nargs="+", default=[], metavar="FILE",
                   help="strategy YAML files whose treatments join the menu")
    p.add_argument("--response", default=None, metavar="FILE",
                   help="a versioned response file written by 'playbook learn' (default: the shipped response.yaml)")
    p.add_argument("--mapping", help=MAPPING_HELP)
    p.add_argument("--lang", choices=["zh", "en"], default=LANG, help=LANG_HELP)
    p.add_argument("--json", action="store_true", help=JSON_HELP)


def _hours(items: list[str]) -> dict[str, float]:
    from ..errors import ArgumentError

    out = {}
    for item in items:
        team, sep, value = item.partition("=")
        try:
            out[team.strip()] = float(value)
        except ValueError:
            raise ArgumentError("--hours", item, "TEAM=HOURS, e.g. mid=900") from None
        if not sep or not team.strip():
            raise ArgumentError("--hours", item, "TEAM=HOURS, e.g. mid=900")
    return out


def run(a: argparse.Namespace) -> int:
    """Optimise, write the strategy and chart, print the results."""
    from ..atomic import atomic_path, write_text_atomic
    from ..content import load_playbook
    from ..formatting import fmt_int, fmt_money, fmt_rate, render_table, wrap
    from ..optimise import constraint_label, frontier_chart, menu_label, optimise, price_sentence

    pb = load_playbook()
    pf = load(a)
    legal = a.max_legal_share
    if legal is None and len(pf.accounts):  # no more accounts to legal than are in the last bucket today
        import numpy as np

        from ..schema import BUCKETS, bucket_of_dpd

        legal = float((np.asarray(bucket_of_dpd(pf.accounts["dpd"])) == BUCKETS[-1]).mean())
    res = optimise(pf, as_of=a.as_of, pack=a.pack, horizon_days=a.horizon, draws=a.draws, seed=a.seed,
                   response=a.response, extra=a.add_strategies, capacity=_hours(a.hours) or None,
                   capacity_scale=a.capacity_scale, budget=a.budget, max_legal_share=legal, risk=a.risk,
                   playbook=pb)
    if a.out is not None:
        write_text_atomic(a.out, res.strategy_yaml())
    if a.chart is not None:
        fig = frontier_chart(res, lang=a.lang, playbook=pb)
        with atomic_path(a.chart) as tmp:
            fig.savefig(tmp, dpi=120, format="png")
    if a.json:
        body = res.to_dict()
        body["files"] = {"strategy": str(a.out) if a.out else None, "chart": str(a.chart) if a.chart else None}
        print(json.dumps(body, ensure_ascii=False, indent=2, default=float))
        return 0

    cur = pb.currency
    lang = a.lang

    def t(key: str, **kw: object) -> str:
        text = pb.text(f"optimiser.{key}", lang)
        return text.format(**kw) if kw else text

    def money_head(label: str) -> str:
        return f"{label}（{cur}）" if lang == "zh" else f"{label} ({cur})"

    def signed(x: float) -> str:
        s = fmt_money(x)
        return s if s.startswith("-") or s in ("0", "n/a") else "+" + s

    s = res.settings
    print(wrap(t("title", pack=a.pack, days=s["horizon_days"], as_of=s["as_of"], currency=cur,
                 objective=t("objective_mean") if a.risk is None else t("objective_risk", q=fmt_rate(a.risk, 0)))))
    print(wrap(pb.text("cli.response_version", lang).format(version=res.response_version)))
    tot = res.totals
    rows = []
    for m in ("collected", "net"):
        d = res.uplift[m]
        rows.append([t(m), fmt_money(tot.loc["champion", f"{m}_mean"]), fmt_money(tot.loc["optimised", f"{m}_mean"]),
                     signed(d["mean"]), f"{signed(d['p05'])} – {signed(d['p95'])}"])
    rows.append([t("hours"), fmt_int(tot.loc["champion", "hours_needed"]), fmt_int(tot.loc["optimised", "hours_needed"]),
                 signed(tot.loc["optimised", "hours_needed"] - tot.loc["champion", "hours_needed"]), ""])
    print()
    print(render_table([t("metric"), t("champion"), t("optimised"), t("difference"), t("difference_interval")], rows))
    print(wrap(t("uplift_note", draws=fmt_int(s["uplift_draws"]))))

    asg = res.assignment
    by = asg.groupby("treatment").agg(cells=("accounts", "size"), accounts=("accounts", "sum"), net=("net", "sum"),
                                      hours=("hours", "sum")).sort_values("accounts", ascending=False)
    print()
    print(render_table([t("treatment"), t("cells"), t("accounts"), money_head(t('net')), t("hours")],
                       [[i, fmt_int(r["cells"]), fmt_int(r["accounts"]), fmt_money(r["net"]), fmt_int(r["hours"])]
                        for i, r in by.iterrows()]))
    for i in by.index:
        print(wrap(f"{i}: {menu_label(i, lang=lang, playbook=pb)}", indent="  ", subsequent="    "))
    print(wrap(t("vulnerable_note", calls=f"{res.strategy.rules[0].treatment.attempts_per_week:g}",
                 n=fmt_int(s["vulnerable_accounts"]), total=fmt_int(s["accounts"]))))

    c = res.constraints
    if len(c):
        print()
        print(render_table([t("constraint"), t("limit"), t("used"), t("binding"), t("shadow_price", currency=cur)],
                           [[constraint_label(r["constraint"], lang=lang, playbook=pb), fmt_number0(r["limit"]), fmt_number0(r["used"]),
                             t("yes") if r["binding"] else t("no"), fmt_money(r["shadow_price"], decimals=2)]
                            for _, r in c.iterrows()]))
        for _, r in c[c["binding"] & (c["shadow_price"].abs() > 0)].iterrows():
            print(wrap(price_sentence(r, lang=lang, playbook=pb)))
    f = res.frontier
    print()
    print(wrap(t("frontier_title")))
    print(render_table([t("capacity_scale"), t("hours_available"), t("hours_used"), money_head(t('net'))],
                       [[f"{r['capacity_scale']:g}×", fmt_int(r["capacity_hours"]), fmt_int(r["hours_used"]),
                         fmt_money(r["net"]) if r["feasible"] else t("infeasible")] for _, r in f.iterrows()]))
    for key, path in (("wrote_strategy", a.out), ("wrote_chart", a.chart)):
        if path is not None:
            print(wrap(t(key, path=str(path))))
    return 0


def fmt_number0(x: float) -> str:
    from ..formatting import fmt_number

    return fmt_number(x, 0)
