"""The ``playbook`` command line: a thin layer over the Python API.

Exit codes: 0 success, 1 a run failed (or found violations), 2 bad input or usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Callable, Sequence

from .errors import PlaybookError

_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def register(name: str) -> Callable[[Callable[[argparse.Namespace], int]], Callable[[argparse.Namespace], int]]:
    """Register a sub-command handler."""
    def deco(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        _COMMANDS[name] = fn
        return fn
    return deco


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # usage errors exit 2 with the usage line
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="playbook", description="Collections strategy playbook and workbench.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    d = sub.add_parser("demo-data", help="generate a synthetic demo portfolio")
    d.add_argument("--accounts", type=int, default=5000)
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--as-of", default="2026-11-29")
    d.add_argument("--out", required=True, type=Path)
    d.add_argument("--format", choices=["parquet", "csv", "xlsx"], default="parquet")
    d.add_argument("--mapping", help="write as a foreign export described by this mapping YAML")
    d.add_argument("--encoding", default="utf-8", help="CSV encoding, e.g. gbk")

    v = sub.add_parser("validate", help="check a portfolio against the data contract")
    v.add_argument("source")
    v.add_argument("--mapping")
    v.add_argument("--all", action="store_true", help="list every problem, not the first 200")
    v.add_argument("--as-of", help="warn about rows dated after this date (they are kept)")
    v.add_argument("--json", action="store_true")
    sg = sub.add_parser("segment", help="segment every account by the playbook rules")
    sg.add_argument("data")
    sg.add_argument("--as-of", required=True)
    sg.add_argument("--out", required=True, type=Path, help=".parquet or .csv")
    sg.add_argument("--mapping")
    sg.add_argument("--window-days", type=int, default=90)
    sg.add_argument("--lang", choices=["zh", "en"], default="en")

    k = sub.add_parser("kpis", help="compute the collections KPIs")
    k.add_argument("data")
    k.add_argument("--as-of", required=True)
    k.add_argument("--by", help="month, team or any segment dimension")
    k.add_argument("--window-days", type=int, default=30)
    k.add_argument("--mapping")
    k.add_argument("--json", action="store_true")
    c = sub.add_parser("compliance", help="check contact logs or a contact plan against a rule pack")
    c.add_argument("data")
    c.add_argument("--pack", default="cn", help="cn, us or uk")
    c.add_argument("--plan", help="a proposed contact plan (interactions columns, future timestamps)")
    c.add_argument("--tighten", action="append", default=[], metavar="RULE.PARAM=VALUE",
                   help="a stricter setting, e.g. cn_unanswered_calls.max=4 or cn_connected_calls_three.enabled=true")
    c.add_argument("--mapping")
    c.add_argument("--json", action="store_true")
    b = sub.add_parser("briefings", help="one HTML briefing per team (papermill)")
    b.add_argument("data")
    b.add_argument("--as-of", required=True)
    b.add_argument("--teams", default="all", help="all, or a comma-separated list such as early,mid")
    b.add_argument("--out", default="reports", type=Path, help="reports are written to OUT/<as-of>/")
    b.add_argument("--jobs", type=int, default=min(5, (os.cpu_count() or 1) + 1),
                   help="parallel notebook runs (default: cores + 1, at most 5)")
    b.add_argument("--lang", choices=["zh", "en"], default="zh")
    b.add_argument("--top-n", type=int, default=20)
    b.add_argument("--pack", default="cn")
    b.add_argument("--mapping")
    b.add_argument("--now", help="plan contact headroom from this time (default 09:00 on the as-of day, business time zone)")
    b.add_argument("--roster", help="CSV of team, collector, minutes: today's collectors (default: teams.yaml)")
    b.add_argument("--template", help="a customised briefing notebook (default: the packaged team_briefing.ipynb)")
    w = sub.add_parser("whatif", help="compare strategies by simulation")
    w.add_argument("data")
    w.add_argument("--strategies", nargs="+", default=None, metavar="NAME_OR_FILE",
                   help="default: every shipped strategy that claims --pack and is admissible under it")
    w.add_argument("--as-of", default=None, help="default: the day after the last interaction")
    w.add_argument("--horizon", type=int, default=90)
    w.add_argument("--draws", type=int, default=2000)
    w.add_argument("--seed", type=int, default=0)
    w.add_argument("--pack", default="cn")
    w.add_argument("--mapping")
    w.add_argument("--json", action="store_true")
    return p


@register("whatif")
def _whatif(a: argparse.Namespace) -> int:
    import pandas as pd

    from .compliance import admissible_strategies
    from .whatif import simulate

    strategies = a.strategies
    if strategies is None:
        strategies = admissible_strategies(a.pack)
        if not strategies:
            print(f"playbook whatif: no shipped strategy is admissible under pack {a.pack}", file=sys.stderr)
            return 1
        if not a.json:
            print(f"admissible under pack {a.pack}: {', '.join(strategies)}")
    res = simulate(_load(a), strategies, a.horizon, a.draws, a.seed, as_of=a.as_of, pack=a.pack)
    if a.json:
        print(json.dumps(res.to_dict(), ensure_ascii=False, indent=2, default=float))
        return 0
    t = res.totals
    cols = ["accounts", "collected_mean", "collected_p05", "collected_p95", "cost_mean", "discount_given", "net_mean",
            "cost_to_collect", "cured", "roll_forward", "hours_needed", "capacity_use"]
    ok = t[t["admissible"]]
    with pd.option_context("display.width", 220, "display.max_columns", 20, "display.float_format", "{:,.2f}".format):
        print(f"horizon {res.horizon_days} days, {res.draws} draws, pack {a.pack}; collected with its 90% interval")
        if len(ok):
            print(ok[[c for c in cols if c in ok]].to_string())
    for sid, v in res.verdicts.items():
        if v:
            print(f"\n{sid}: INADMISSIBLE, not simulated")
            for item in v:
                print(f"  {item['rule']} ({item['source']}): {item['detail']}")
    return 0


@register("briefings")
def _briefings(a: argparse.Namespace) -> int:
    from .runner import run_briefings

    manifest = run_briefings(a.data, a.as_of, teams=a.teams, out=a.out, jobs=a.jobs, lang=a.lang, top_n=a.top_n,
                             pack=a.pack, template=a.template, mapping=a.mapping, now=a.now, roster=a.roster,
                             log=lambda m: print(m, flush=True))
    where = a.out / manifest["as_of"]
    failed = [t["team"] for t in manifest["teams"] if t["status"] != "ok"]
    print(f"wrote {where / 'index.html'} and {where / 'manifest.json'}; "
          + (f"FAILED: {', '.join(failed)}" if failed else "all teams ok"))
    return 1 if failed else 0


def _overrides(items: list[str]) -> dict:
    import yaml

    from .errors import ArgumentError

    out: dict[str, dict] = {}
    for item in items:
        key, sep, value = item.partition("=")
        rule, dot, param = key.partition(".")
        if not (sep and dot and rule and param):
            raise ArgumentError("--tighten", item, "RULE.PARAM=VALUE, e.g. cn_unanswered_calls.max=4")
        out.setdefault(rule, {})[param] = yaml.safe_load(value)
    return out


@register("compliance")
def _compliance(a: argparse.Namespace) -> int:
    from .compliance import check_compliance, get_pack, tighten
    from .loading import load_table

    pf = _load(a)
    pack = get_pack(a.pack)
    if a.tighten:
        pack = tighten(pack, _overrides(a.tighten))
    plan = load_table(a.plan, "interactions", a.mapping) if a.plan else None
    res = check_compliance(pf, pack, plan=plan)
    if res.checked == 0:  # nothing was checked: say so, never "clean"
        from .content import load_playbook

        note = load_playbook().text("missing.nothing_to_check", "en")
        if a.json:
            print(json.dumps({**res.to_dict(), "note": note}, ensure_ascii=False, indent=2))
        else:
            print(f"pack {pack.id}: {note}")
        return 0
    if a.json:
        print(res.to_json())
    else:
        print(f"pack {pack.id}: {pack.name.en} / {pack.name.zh}; {res.checked} interactions checked")
        summary = res.summary
        print(summary[summary["checked_in_logs"]][["rule", "violations", "accounts", "source"]].to_string(index=False))
        policy = summary[~summary["checked_in_logs"]]
        if len(policy):
            print("\nnot checkable from a contact log (policy) / 无法从联系记录检查（制度要求）:")
            for r in policy.itertuples(index=False):
                print(f"  {r.rule}: {r.text_en} / {r.text_zh} ({r.source})")
        for r in res.violations.head(200).itertuples(index=False):
            print(f"  {r.rule}: {r.account_id} at {r.ts}: {r.detail}")
        if len(res.violations) > 200:
            print(f"  ... {len(res.violations) - 200} more (use --json for all)")
    return 0 if res.ok else 1


def _load(a: argparse.Namespace, *, notes: bool = True):  # noqa: ANN202
    """Load ``a.data``; print one note per missing table, saying what cannot be computed."""
    from .content import load_playbook
    from .loading import load_portfolio

    pf = load_portfolio(a.data, a.mapping)
    if notes:
        pb = load_playbook()
        for table in pf.missing:
            print(f"note: {pb.text(f'missing.{table}', getattr(a, 'lang', None) or 'en')}", file=sys.stderr)
    return pf


@register("segment")
def _segment(a: argparse.Namespace) -> int:
    from .atomic import atomic_path
    from .errors import ArgumentError
    from .masking import neutralise_formulas
    from .segmentation import segment

    suffix = a.out.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise ArgumentError("--out", str(a.out), "a file ending in .parquet or .csv")
    seg = segment(_load(a), a.as_of, window_days=a.window_days, lang=a.lang)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(a.out) as tmp:
        if suffix == ".parquet":
            seg.to_parquet(tmp, index=False)
        else:  # a CSV is opened in spreadsheets: no cell may run as a formula
            neutralise_formulas(seg).to_csv(tmp, index=False, encoding="utf-8-sig")
    print(f"wrote {a.out}: {len(seg)} accounts")
    for dim in ("team", "behaviour_type", "stage"):
        print(f"{dim}: " + ", ".join(f"{k} {v}" for k, v in seg[dim].value_counts().items()))
    return 0


@register("kpis")
def _kpis(a: argparse.Namespace) -> int:
    import pandas as pd

    from .metrics import kpis, roll_rates, transition_quirks

    pf = _load(a)
    table = kpis(pf, a.as_of, by=a.by, window_days=a.window_days)
    rr = roll_rates(pf.history)
    if a.json:
        body = {"as_of": str(a.as_of), "by": a.by or "all", "window_days": a.window_days, "missing": list(pf.missing),
                "kpis": json.loads(table.reset_index().to_json(orient="records", date_format="iso")),
                "roll_rates": json.loads(rr.to_json(orient="index")),
                "quirks": transition_quirks(pf.history).to_dict(orient="records")}
        print(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        with pd.option_context("display.width", 200, "display.max_columns", 50):
            print(table.T.to_string(na_rep="n/a"))
            if "history" not in pf.missing:
                print("\nroll rates (count):")
                print(rr.round(4).to_string(na_rep="n/a"))
                print("\ntransitions a one-bucket-a-month model does not allow (reported, not smoothed):")
                print(transition_quirks(pf.history).to_string(index=False))
    return 0


@register("demo-data")
def _demo_data(a: argparse.Namespace) -> int:
    from .demo import demo_portfolio
    from .loading import write_portfolio

    pf = demo_portfolio(a.accounts, a.seed, a.as_of)
    files = write_portfolio(pf, a.out, fmt=a.format, mapping=a.mapping, encoding=a.encoding)
    truth = a.out / f"truth.{a.format if a.format != 'xlsx' else 'csv'}"
    if a.format == "parquet":
        pf.truth.to_parquet(truth, index=False)
    else:
        pf.truth.to_csv(truth, index=False)
    for f in files + [truth]:
        print(f"wrote {f}")
    print(pf.report.to_text())
    return 0


@register("validate")
def _validate(a: argparse.Namespace) -> int:
    from .loading import load_portfolio

    pf = load_portfolio(a.source, a.mapping, on_error="keep_valid", as_of=a.as_of)
    r = pf.report
    if a.json:
        print(json.dumps({"source": r.source, "rows_read": r.rows_read, "rows_accepted": r.rows_accepted,
                          "rows_rejected": r.rows_rejected, "counts": r.counts.to_dict(orient="records"),
                          "problems": json.loads(r.errors.to_json(orient="records", force_ascii=False)),
                          "notes": r.notes}, ensure_ascii=False, indent=2))
    else:
        print(r.to_text(max_errors=None if a.all else 200))
    return 0 if r.ok else 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except PlaybookError as exc:
        print(f"playbook {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
