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

from .commands import DATA_HELP as _DATA_HELP, JSON_HELP as _JSON_HELP, LANG
from .commands import LANG_HELP as _LANG_HELP, MAPPING_HELP as _MAPPING_HELP, PACK_HELP as _PACK_HELP
from .commands import load as _load, segment_skip as _segment_skip
from .commands.partition import add_engine_arguments as _add_engine_arguments
from .commands.partition import partitioned_source as _partitioned
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
    p = _Parser(prog="playbook", description="Collections strategy playbook and workbench.",
                epilog="Run 'playbook COMMAND --help' for the options of a command. "
                       "Exit codes: 0 success, 1 a run failed or found violations, 2 bad input or usage.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")

    d = sub.add_parser("demo-data", help="generate a synthetic demo portfolio",
                       description="Generate a synthetic demo portfolio (the same seed gives byte-identical files).")
    d.add_argument("--accounts", type=int, default=5000, help="number of accounts (default: %(default)s)")
    d.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    d.add_argument("--as-of", default="2026-11-29", help="the last day of the generated data (default: %(default)s)")
    d.add_argument("--out", required=True, type=Path, help="folder to write the tables and truth file to")
    d.add_argument("--format", choices=["parquet", "csv", "xlsx"], default="parquet",
                   help="file format: parquet, csv or xlsx (default: %(default)s)")
    d.add_argument("--mapping", help="write as a foreign export described by this mapping YAML")
    d.add_argument("--encoding", default="utf-8", help="CSV encoding, e.g. gbk (default: %(default)s)")
    d.add_argument("--partitions", type=int, help="write an account-partitioned Parquet dataset with this many "
                                                  "partitions, generated chunk by chunk (memory bounded by a chunk)")
    d.add_argument("--chunk-accounts", type=int, default=100_000,
                   help="with --partitions: accounts generated at a time (default: %(default)s)")
    _add_engine_arguments(d)

    v = sub.add_parser("validate", help="check a portfolio against the data contract",
                       description="Check a portfolio against the data contract and report every rejected row. "
                                   "Exit 0 when clean, 2 otherwise.")
    v.add_argument("source", help=_DATA_HELP)
    v.add_argument("--mapping", help=_MAPPING_HELP)
    v.add_argument("--all", action="store_true", help="list every problem, not the first 200")
    v.add_argument("--as-of", help="warn about rows dated after this date (they are kept)")
    v.add_argument("--json", action="store_true", help=_JSON_HELP)

    sg = sub.add_parser("segment", help="segment every account by the playbook rules",
                        description="Segment every account by the playbook rules and write one row per account; "
                                    "prints the accounts per team, behavioural type and stage.")
    sg.add_argument("data", help=_DATA_HELP)
    sg.add_argument("--as-of", required=True, help="the day the segments are computed for, e.g. 2026-11-29")
    sg.add_argument("--out", required=True, type=Path, help="the output file: .parquet or .csv")
    sg.add_argument("--mapping", help=_MAPPING_HELP)
    sg.add_argument("--window-days", type=int, default=90,
                    help="days of contact history the features look back over (default: %(default)s)")
    sg.add_argument("--lang", choices=["zh", "en"], default=LANG,
                    help=_LANG_HELP + "; also the language of the recommended treatment in the file")
    _add_engine_arguments(sg)

    k = sub.add_parser("kpis", help="compute the collections KPIs",
                       description="The collections KPIs, the roll-rate matrix and the transitions a "
                                   "one-bucket-a-month model does not allow, for the portfolio or per group.")
    k.add_argument("data", help=_DATA_HELP)
    k.add_argument("--as-of", required=True, help="the last day of the KPI window, e.g. 2026-11-29")
    k.add_argument("--by", help="group by month, status, team or any segment dimension (stage, behaviour_type, ...); "
                                "the roll rates and transitions are grouped too")
    k.add_argument("--window-days", type=int, default=30, help="length of the KPI window in days (default: %(default)s)")
    k.add_argument("--mapping", help=_MAPPING_HELP)
    k.add_argument("--lang", choices=["zh", "en"], default=LANG, help=_LANG_HELP)
    k.add_argument("--json", action="store_true", help=_JSON_HELP)
    _add_engine_arguments(k)

    c = sub.add_parser("compliance", help="check contact logs or a contact plan against a rule pack",
                       description="Check the contact log (or a proposed contact plan) against a compliance rule "
                                   "pack. Exit 0 clean, 1 violations found, 2 bad input.")
    c.add_argument("data", help=_DATA_HELP)
    c.add_argument("--pack", default="cn", help=_PACK_HELP)
    c.add_argument("--plan", help="a proposed contact plan (interactions columns, future timestamps)")
    c.add_argument("--tighten", action="append", default=[], metavar="RULE.PARAM=VALUE",
                   help="a stricter setting, e.g. cn_unanswered_calls.max=4 or cn_connected_calls_three.enabled=true "
                        "(repeatable; a looser value is an error)")
    c.add_argument("--mapping", help=_MAPPING_HELP)
    c.add_argument("--lang", choices=["zh", "en"], default=LANG, help=_LANG_HELP)
    c.add_argument("--json", action="store_true", help=_JSON_HELP)
    _add_engine_arguments(c)

    b = sub.add_parser("briefings", help="one HTML briefing per team (papermill)",
                       description="Run the team briefing notebook once per team and write OUT/<as-of>/ with one "
                                   "HTML page per team, index.html and manifest.json.")
    b.add_argument("data", help=_DATA_HELP)
    b.add_argument("--as-of", required=True, help="the briefing day, e.g. 2026-11-29")
    b.add_argument("--teams", default="all", help="all, or a comma-separated list such as early,mid (default: %(default)s)")
    b.add_argument("--out", default="reports", type=Path, help="reports are written to OUT/<as-of>/ (default: %(default)s)")
    b.add_argument("--jobs", type=int, default=min(5, (os.cpu_count() or 1) + 1),
                   help="parallel notebook runs (default: cores + 1, at most 5)")
    b.add_argument("--lang", choices=["zh", "en"], default=LANG, help=_LANG_HELP)
    b.add_argument("--top-n", type=int, default=20, help="accounts in each team's priority worklist (default: %(default)s)")
    b.add_argument("--pack", default="cn", help=_PACK_HELP)
    b.add_argument("--mapping", help=_MAPPING_HELP)
    b.add_argument("--now", help="plan contact headroom from this time (default 09:00 on the as-of day, business time zone)")
    b.add_argument("--roster", help="CSV of team, collector, minutes: today's collectors (default: teams.yaml)")
    b.add_argument("--template", help="a customised briefing notebook (default: the packaged team_briefing.ipynb)")
    _add_engine_arguments(b)

    w = sub.add_parser("whatif", help="compare strategies by simulation",
                       description="Simulate strategies on the portfolio and compare collections, costs and capacity, "
                                   "each against the champion with a 90% interval, in total, by behavioural type "
                                   "and by team.")
    w.add_argument("data", help=_DATA_HELP)
    w.add_argument("--strategies", nargs="+", default=None, metavar="NAME_OR_FILE",
                   help="shipped strategy ids or strategy YAML files; default: every shipped strategy that claims "
                        "--pack and is admissible under it")
    w.add_argument("--as-of", default=None, help="the first day simulated; default: the day after the last interaction")
    w.add_argument("--horizon", type=int, default=90, help="days simulated (default: %(default)s)")
    w.add_argument("--draws", type=int, default=2000, help="Monte Carlo draws; more draws, steadier intervals "
                                                           "(default: %(default)s)")
    w.add_argument("--seed", type=int, default=0, help="random seed of the simulation (default: %(default)s)")
    w.add_argument("--pack", default="cn", help=_PACK_HELP + "; inadmissible strategies are reported, not simulated")
    w.add_argument("--mapping", help=_MAPPING_HELP)
    w.add_argument("--response", default=None, metavar="FILE",
                   help="a versioned response file written by 'playbook learn' (default: the shipped response.yaml, v1)")
    w.add_argument("--lang", choices=["zh", "en"], default=LANG, help=_LANG_HELP)
    w.add_argument("--json", action="store_true", help=_JSON_HELP)
    _add_command_modules(sub)
    return p


def _add_command_modules(sub: "argparse._SubParsersAction") -> None:
    """Add the sub-commands that live in ``playbook.commands``, one module each, in name order."""
    import importlib
    import pkgutil

    from . import commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{commands.__name__}.{info.name}")
        mod.add_parser(sub)
        _COMMANDS[mod.NAME] = mod.run


def _t(key: str, lang: str, **kw: object) -> str:
    """The CLI label ``cli.<key>`` of ``ui.yaml`` in ``lang``, formatted with ``kw``."""
    from .content import load_playbook

    text = load_playbook().text(f"cli.{key}", lang)
    return text.format(**kw) if kw else text


def _group_label(by: str | None, value: object, lang: str) -> str:
    """A group of ``--by`` as a person reads it: a month as 2026-11, a category by its name."""
    import pandas as pd

    from .content import load_playbook

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "n/a"
    if by is None:
        return _t("all", lang) if value == "all" else str(value)
    if by == "month":
        return pd.Timestamp(value).strftime("%Y-%m")
    pb = load_playbook()
    try:
        if by == "status":
            return pb.text(f"status.{value}", lang)
        return pb.label(by, str(value), lang)
    except PlaybookError:
        return str(value)


def _dim_name(dim: str, lang: str) -> str:
    from .content import load_playbook

    if dim == "month":
        return "月份" if lang == "zh" else "month"
    if dim == "status":
        return "账户状态" if lang == "zh" else "status"
    try:
        return load_playbook().dimension(dim).name(lang)
    except PlaybookError:
        return dim


def _baseline(simulated: list[str]) -> str | None:
    """The strategy every other is compared with: ``champion`` when simulated, else the first."""
    return "champion" if "champion" in simulated else (simulated[0] if simulated else None)


@register("whatif")
def _whatif(a: argparse.Namespace) -> int:
    from .compliance import admissible_strategies, detail_column, zone_warning
    from .content import load_playbook
    from .formatting import fmt_int, fmt_money, fmt_rate, render_table, wrap
    from .whatif import simulate

    lang = a.lang
    strategies = a.strategies
    if strategies is None:
        strategies = admissible_strategies(a.pack)
        if not strategies:
            print(f"playbook whatif: no shipped strategy is admissible under pack {a.pack}", file=sys.stderr)
            return 1
        if not a.json:
            print(wrap(_t("admissible_under", lang, pack=a.pack, names=", ".join(strategies))))
    pf = _load(a)
    warning = zone_warning(a.pack, pf.timezone, lang)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    res = simulate(pf, strategies, a.horizon, a.draws, a.seed, as_of=a.as_of, pack=a.pack, response=a.response)
    t = res.totals
    ok = t[t["admissible"]] if "admissible" in t else t.iloc[:0]
    base = _baseline(list(ok.index))
    diffs = {sid: {m: res.difference(sid, base, m) for m in ("collected", "net")} for sid in ok.index} if base else {}
    if a.json:
        body = res.to_dict()
        body["baseline"] = base
        for item in body["strategies"]:
            if item["name"] in diffs:
                item["difference_to_baseline"] = diffs[item["name"]]
        print(json.dumps(body, ensure_ascii=False, indent=2, default=float))
        return 0
    cur = pf.currency or load_playbook().currency
    print(wrap(_t("whatif_title", lang, as_of=res.as_of.date(), days=res.horizon_days, draws=fmt_int(res.draws),
                  pack=a.pack, currency=cur)))
    print(wrap(_t("response_version", lang, version=res.response_version)))
    if len(ok):
        rows = []
        for sid, r in ok.iterrows():
            d = diffs[sid]["collected"]
            same = sid == base
            rows.append([sid, fmt_int(r["accounts"]), fmt_money(r["collected_mean"]),
                         f"{fmt_money(r['collected_p05'])} – {fmt_money(r['collected_p95'])}",
                         _t("baseline", lang) if same else _signed(d["mean"]),
                         "" if same else f"{_signed(d['p05'])} – {_signed(d['p95'])}"])
        print()
        print(render_table([_t("strategy", lang), _t("accounts", lang), _cur(_t('collected_mean', lang), cur, lang),
                            _cur(_t('collected_interval', lang), cur, lang), _cur(_t('vs_champion', lang, champion=base), cur, lang),
                            _cur(_t('vs_champion_interval', lang), cur, lang)], rows))
        rows = [[sid, fmt_money(r["cost_mean"]), fmt_money(r["discount_given"]), fmt_money(r["net_mean"]),
                 _signed(diffs[sid]["net"]["mean"]) if sid != base else _t("baseline", lang),
                 fmt_rate(r["cost_to_collect"]), fmt_int(r["cured"]), fmt_int(r["roll_forward"]),
                 fmt_int(r["hours_needed"]), fmt_rate(r["capacity_use"])] for sid, r in ok.iterrows()]
        print()
        print(render_table([_t("strategy", lang), _cur(_t('cost', lang), cur, lang), _cur(_t('discount_given', lang), cur, lang),
                            _cur(_t('net_mean', lang), cur, lang),
                            _cur(f"{_t('net_mean', lang)} {_t('vs_champion', lang, champion=base)}", cur, lang),
                            _t("cost_to_collect", lang), _t("cured", lang), _t("roll_forward", lang),
                            _t("hours_needed", lang), _t("capacity_use", lang)], rows))
        print("\n" + wrap(_t("diff_note", lang)))
        print(wrap(_t("net_note", lang)))
        strat_ids = list(ok.index)
        if len(res.by_segment):
            bs = res.by_segment.pivot_table(index="behaviour_type", columns="strategy", values="collected",
                                            aggfunc="sum").reindex(columns=strat_ids)
            bs = bs.loc[bs.sum(axis=1).sort_values(ascending=False).index]
            print("\n" + _cur(_t('by_segment', lang), cur, lang) + ":")
            print(render_table([_dim_name("behaviour_type", lang), *strat_ids],
                               [[_group_label("behaviour_type", i, lang), *map(fmt_money, r)] for i, r in bs.iterrows()]))
        if len(res.by_team):
            bt = res.by_team.pivot_table(index="team", columns="strategy", values="collected", aggfunc="sum")
            cu = res.by_team.pivot_table(index="team", columns="strategy", values="capacity_use", aggfunc="sum")
            bt, cu = bt.reindex(columns=strat_ids), cu.reindex(index=bt.index, columns=strat_ids)
            print("\n" + _cur(_t('by_team', lang), cur, lang) + ":")
            heads = [_dim_name("team", lang)] + [f"{sid}\n{_t('collected', lang)}" for sid in strat_ids]
            print(render_table(heads, [[_group_label("team", i, lang), *map(fmt_money, r)] for i, r in bt.iterrows()]))
            print()
            heads = [_dim_name("team", lang)] + [f"{sid}\n{_t('capacity_use', lang)}" for sid in strat_ids]
            print(render_table(heads, [[_group_label("team", i, lang), *map(fmt_rate, r)] for i, r in cu.iterrows()]))
        print("\n" + wrap(_t("more_in_json", lang)))
    detail = detail_column(lang)
    for sid, v in res.verdicts.items():
        if v:
            print("\n" + _t("inadmissible", lang, name=sid))
            seen = set()
            for item in v:
                key = (item.get("rule"), item.get(detail))
                if key in seen:
                    continue
                seen.add(key)
                line = (f"{item['rule']}（{item['source']}）：{item[detail]}" if lang == "zh"
                        else f"{item['rule']} ({item['source']}): {item[detail]}")
                print(wrap(line, indent="  ", subsequent="    "))
    return 0


def _cur(label: str, currency: str, lang: str) -> str:
    """A column header with its currency: ``collected (CNY)`` / ``回收（CNY）``."""
    return f"{label}（{currency}）" if lang == "zh" else f"{label} ({currency})"


def _signed(x: float) -> str:
    from .formatting import fmt_money

    s = fmt_money(x)
    return s if s.startswith("-") or s == "n/a" or s == "0" else "+" + s


@register("briefings")
def _briefings(a: argparse.Namespace) -> int:
    from .runner import run_briefings

    manifest = run_briefings(a.data, a.as_of, teams=a.teams, out=a.out, jobs=a.jobs, lang=a.lang, top_n=a.top_n,
                             pack=a.pack, template=a.template, mapping=a.mapping, now=a.now, roster=a.roster,
                             engine=a.engine, scheduler=a.scheduler, log=lambda m: print(m, flush=True))
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
    from .compliance import check_compliance, detail_column, get_pack, tighten, zone_warning
    from .content import load_playbook
    from .formatting import fmt_int, render_table, wrap
    from .loading import load_table

    lang = a.lang
    pack = get_pack(a.pack)
    if a.tighten:
        pack = tighten(pack, _overrides(a.tighten))
    if _partitioned(a):
        from .distributed import check_compliance_partitioned
        from .errors import ArgumentError

        if a.plan:
            raise ArgumentError("--plan", a.plan, "left out with a partitioned dataset (plans are checked "
                                                      "on one machine, against the unpartitioned portfolio)")
        res = check_compliance_partitioned(a.data, pack, engine=a.engine, scheduler=a.scheduler)
    else:
        plan = load_table(a.plan, "interactions", a.mapping) if a.plan else None
        pf = _load(a)
        warning = zone_warning(pack, pf.timezone, lang)
        if warning:
            print(f"warning: {warning}", file=sys.stderr)
        res = check_compliance(pf, pack, plan=plan)
    if res.checked == 0:  # nothing was checked: say so, never "clean"
        note = load_playbook().text("missing.nothing_to_check", lang)
        if a.json:
            print(json.dumps({**res.to_dict(), "note": note}, ensure_ascii=False, indent=2))
        else:
            print(f"pack {pack.id}: {note}")
        return 0
    if a.json:
        print(res.to_json())
        return 0 if res.ok else 1
    print(wrap(_t("checked", lang, pack=pack.id, name=pack.name(lang), n=fmt_int(res.checked))))
    summary = res.summary
    checked = summary[summary["checked_in_logs"]]
    print()
    print(render_table([_t("rule", lang), _t("violations", lang), _t("violating_accounts", lang), _t("source", lang)],
                       [[r.rule, fmt_int(r.violations), fmt_int(r.accounts), r.source] for r in checked.itertuples(index=False)],
                       align="lrrl", wrap_cols=[3], min_wrap=30))
    policy = summary[~summary["checked_in_logs"]]
    colon = "：" if lang == "zh" else ":"
    if len(policy):
        print(f"\n{_t('policy', lang)}{colon}")
        for r in policy.itertuples(index=False):
            line = (f"{r.rule}：{r.text_zh}（{r.source}）" if lang == "zh" else f"{r.rule}: {r.text_en} ({r.source})")
            print(wrap(line, indent="  ", subsequent="    "))
    if len(res.violations):
        print(f"\n{_t('violation_list', lang)}{colon}")
    detail = detail_column(lang)
    for r in res.violations.head(200).to_dict(orient="records"):
        said = str(r[detail])
        if str(r["ts"]) in said:  # the detail names the moment itself (quiet hours): say it once
            line = f"{r['rule']}：{r['account_id']}，{said}" if lang == "zh" else f"{r['rule']}: {r['account_id']}: {said}"
        else:
            line = (f"{r['rule']}：{r['account_id']}，{r['ts']}：{said}" if lang == "zh"
                    else f"{r['rule']}: {r['account_id']} at {r['ts']}: {said}")
        print(wrap(line, indent="  ", subsequent="    "))
    if len(res.violations) > 200:
        print("  " + _t("more", lang, n=fmt_int(len(res.violations) - 200)))
    return 0 if res.ok else 1


@register("segment")
def _segment(a: argparse.Namespace) -> int:
    from .atomic import atomic_path
    from .content import load_playbook
    from .errors import ArgumentError
    from .formatting import fmt_int, fmt_rate, render_table
    from .masking import neutralise_formulas
    from .segmentation import segment

    suffix = a.out.suffix.lower()
    partitioned = _partitioned(a)
    if partitioned and not suffix:  # a folder: the workers write one file per partition
        from .distributed import write_segments

        done = write_segments(a.data, a.as_of, a.out, window_days=a.window_days, lang=a.lang, engine=a.engine,
                              scheduler=a.scheduler)
        n, counts = done.accounts, done.counts
    else:
        if suffix not in (".parquet", ".csv"):
            raise ArgumentError("--out", str(a.out), "a file ending in .parquet or .csv"
                                + (", or a folder (partitioned data)" if partitioned else ""))
        if partitioned:
            from .distributed import segment as segment_partitioned

            seg = segment_partitioned(a.data, a.as_of, window_days=a.window_days, lang=a.lang, engine=a.engine,
                                      scheduler=a.scheduler)
        else:
            # the columns segmentation never reads (e.g. message text, contact details) are not loaded
            seg = segment(_load(a, skip=_segment_skip()), a.as_of, window_days=a.window_days, lang=a.lang)
        a.out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(a.out) as tmp:
            if suffix == ".parquet":  # min/max of the code columns would take a third of the write; none is kept
                seg.to_parquet(tmp, index=False, write_statistics=[c for c in seg.columns if seg[c].dtype != "category"])
            else:  # a CSV is opened in spreadsheets: no cell may run as a formula
                neutralise_formulas(seg).to_csv(tmp, index=False, encoding="utf-8-sig")
        n, counts = len(seg), {d: seg[d].value_counts() for d in ("behaviour_type", "stage")}
        counts["team"] = seg.loc[seg["worked"].to_numpy(dtype=bool), "team"].value_counts()  # a queue holds worked accounts
    print(_t("segment_wrote", a.lang, path=a.out, n=fmt_int(n)))
    for dim in ("team", "behaviour_type", "stage"):
        rows = [[_group_label(dim, k, a.lang), k, fmt_int(v), fmt_rate(v / n)] for k, v in counts[dim].items()]
        if dim == "team" and n - int(counts[dim].sum()):  # closed, settled or nothing overdue: in no queue
            left = n - int(counts[dim].sum())
            rows.append([load_playbook().text("status.not_worked", a.lang), "-", fmt_int(left), fmt_rate(left / n)])
        print()
        print(render_table([_dim_name(dim, a.lang), "id", _t("accounts", a.lang), _t("share", a.lang)], rows, keys=2))
    return 0


_KPI_KIND = {**{k: "int" for k in ("accounts", "attempts", "rpc", "contacts", "promises", "kept", "broken", "pending",
                                    "collectors", "accounts_worked")},
             **{k: "money" for k in ("balance", "overdue", "collected", "cost", "collected_per_collector_hour")},
             **{k: "number" for k in ("collector_hours", "accounts_per_collector")}}


def _kpi_kind(col: str) -> str:
    return _KPI_KIND.get(col, "rate" if col.endswith("_rate") or col == "cost_to_collect" else "number")


def _group_key(pf, by: str | None, segments) -> "object":  # noqa: ANN001
    """Per account, its ``--by`` group (a Series indexed by account id), or ``None`` for month / no grouping."""
    import pandas as pd

    if by is None or by == "month":
        return None
    if by == "status":
        return pd.Series(pf.accounts["status"].to_numpy(), index=pf.accounts["account_id"].to_numpy())
    return pd.Series(segments[by].to_numpy(), index=segments["account_id"].to_numpy())


def _roll_by(history, by: str | None, key):  # noqa: ANN001, ANN202
    """Roll-rate rows per group: (group, from bucket) x to bucket, and the accounts in each from bucket."""
    import pandas as pd

    from .metrics import transitions

    t = transitions(history)
    g = t["month"] if by == "month" else pd.Series(key.reindex(t["account_id"]).to_numpy(), index=t.index)
    counts = pd.crosstab([g.rename("group"), t["from_bucket"].rename("from")], t["to_bucket"].rename("to"), dropna=False)
    n = counts.sum(axis=1)
    counts = counts[n > 0]
    return counts.div(n[n > 0], axis=0), n[n > 0]


def _quirks_by(history, by: str | None, key):  # noqa: ANN001, ANN202
    """The transitions a one-bucket-a-month model does not allow, counted per group."""
    import numpy as np
    import pandas as pd

    from .metrics import transitions
    from .schema import BUCKETS

    t = transitions(history)
    g = t["month"] if by == "month" else pd.Series(key.reindex(t["account_id"]).to_numpy(), index=t.index)
    f, to = t["from_bucket"].cat.codes.to_numpy(), t["to_bucket"].cat.codes.to_numpy()
    rows = {}
    for i in range(len(BUCKETS)):
        for j in range(len(BUCKETS)):
            kind = "skips_forward" if j > i + 1 else ("partial_cure" if 0 < j < i - 1 else None)
            if kind:
                rows[(f"{BUCKETS[i]}>{BUCKETS[j]}", kind)] = g[(f == i) & (to == j)].value_counts()
    h = history.sort_values(["account_id", "month"])
    per = h["month"].dt.year * 12 + h["month"].dt.month
    gap = ((per - per.shift()) > 1) & h["account_id"].eq(h["account_id"].shift())
    hg = h["month"] if by == "month" else pd.Series(key.reindex(h["account_id"]).to_numpy(), index=h.index)
    rows[("missing months", "gap")] = hg[gap.to_numpy()].value_counts()
    groups = sorted(set(g.dropna()) | set(hg.dropna()), key=str)
    out = pd.DataFrame({k: v.reindex(groups, fill_value=0) for k, v in rows.items()}).T
    return out.astype(np.int64) if len(out.columns) else out


@register("kpis")
def _kpis(a: argparse.Namespace) -> int:
    from ._checks import check_date
    from .content import load_playbook
    from .formatting import fmt_int, fmt_rate, fmt_value, render_table, wrap
    from .metrics import kpis, roll_rates, transition_quirks
    from .prepared import prepare
    from .segmentation import segment

    lang = a.lang
    if _partitioned(a):  # per partition, combined: the same figures as below
        from .distributed import kpi_report
        from .partitioned import open_dataset

        rep = kpi_report(a.data, a.as_of, by=a.by, window_days=a.window_days, engine=a.engine, scheduler=a.scheduler)
        table, rr, quirks, missing = rep.table, rep.roll_rates, rep.quirks, open_dataset(a.data).missing
        roll_by, quirks_by = rep.roll_by, lambda: rep.quirks_by
        currency = None
    else:
        pf = _load(a)
        prep = prepare(pf, a.as_of)
        seg = segment(prep) if a.by not in (None, "month", "status") and a.by in prep.playbook.rules else None
        table = kpis(prep, by=a.by, window_days=a.window_days, segments=seg)
        key = _group_key(pf, a.by, seg) if a.by else None
        rr, quirks, missing = roll_rates(pf.history), transition_quirks(pf.history), pf.missing
        currency = pf.currency
        roll_by, quirks_by = lambda: _roll_by(pf.history, a.by, key), lambda: _quirks_by(pf.history, a.by, key)
    has_history = "history" not in missing
    if a.json:
        body = {"as_of": str(a.as_of), "by": a.by or "all", "window_days": a.window_days, "missing": list(missing),
                "kpis": json.loads(table.reset_index().to_json(orient="records", date_format="iso")),
                "roll_rates": json.loads(rr.to_json(orient="index")),
                "quirks": quirks.to_dict(orient="records")}
        if a.by and has_history:
            rates, n = roll_by()
            body["roll_rates_by"] = {
                _json_key(grp): {"from": {b: {**{c: _num(rates.loc[(grp, b), c]) for c in rates.columns},
                                               "accounts": int(n.loc[(grp, b)])}
                                          for b in rates.loc[grp].index}}
                for grp in rates.index.get_level_values(0).unique()}
            qb = quirks_by()
            body["quirks_by"] = [{"quirk": q, "kind": k, "counts": {_json_key(c): int(v) for c, v in r.items()}}
                                 for (q, k), r in qb.iterrows()]
        print(json.dumps(body, ensure_ascii=False, indent=2))
        return 0
    cur = currency or load_playbook().currency
    print(wrap(_t("kpis_title", lang, as_of=check_date("as_of", a.as_of).strftime("%Y-%m-%d"), days=a.window_days)))
    print()
    groups = [_group_label(a.by, g, lang) for g in table.index]
    first = _dim_name(a.by, lang) if a.by else _t("kpi", lang)
    rows = [[_t(col, lang), *(fmt_value(v, _kpi_kind(col), cur) for v in table[col])] for col in table.columns]
    print(render_table([f"{_t('kpi', lang)} \\ {first}" if a.by else first, *groups], rows))
    if not has_history:
        print("\n" + _t("no_history", lang))
        return 0
    if a.by is None:
        print(f"\n{_t('roll_title', lang)}:")
        print(render_table([_t("from_bucket", lang), *rr.columns],
                           [[b, *map(fmt_rate, r)] for b, r in rr.iterrows()]))
        q = quirks
        print(f"\n{_t('quirks_title', lang)}:")
        print(render_table([_t("quirk", lang), _t("kind", lang), _t("count", lang), _t("share_of_transitions", lang)],
                           [[r.quirk, _t(r.kind.replace(" ", "_"), lang), fmt_int(r.count), fmt_rate(r.share_of_transitions)]
                            for r in q.itertuples(index=False)], keys=2))
        return 0
    rates, n = roll_by()
    print(f"\n{_t('roll_by_title', lang, by=_dim_name(a.by, lang))}:")
    if a.by == "month":
        print(wrap(_t("roll_by_month_note", lang)))
    rows = [[_group_label(a.by, grp, lang), b, *map(fmt_rate, rates.loc[(grp, b)]), fmt_int(n.loc[(grp, b)])]
            for grp, b in rates.index]
    print(render_table([_dim_name(a.by, lang), _t("from_bucket", lang), *[str(c) for c in rates.columns],
                        _t("from_n", lang)], rows, keys=2))
    qb = quirks_by()
    print(f"\n{_t('quirks_title', lang)}:")
    print(render_table([_t("quirk", lang), _t("kind", lang), *[_group_label(a.by, c, lang) for c in qb.columns]],
                       [[q, _t(k, lang), *map(fmt_int, r)] for (q, k), r in qb.iterrows()], keys=2))
    return 0


def _json_key(x: object) -> str:
    import pandas as pd

    if isinstance(x, pd.Timestamp):
        return x.strftime("%Y-%m-%d")
    return "n/a" if x is None or (not isinstance(x, str) and pd.isna(x)) else str(x)


def _num(x: float) -> float | None:
    return None if x != x else float(x)


@register("demo-data")
def _demo_data(a: argparse.Namespace) -> int:
    from .demo import demo_portfolio
    from .loading import write_portfolio

    if a.partitions is not None:  # chunk by chunk into a partitioned dataset
        from .commands.partition import dataset_text
        from .distributed import demo_data
        from .errors import ArgumentError

        if a.format != "parquet" or a.mapping:
            raise ArgumentError("--partitions", a.partitions, "the contract's Parquet files: no --format or --mapping")
        ds = demo_data(a.out, n_accounts=a.accounts, seed=a.seed, as_of=a.as_of, partitions=a.partitions,
                       chunk_accounts=a.chunk_accounts, engine=a.engine, scheduler=a.scheduler)
        print(dataset_text(ds))
        print(_report_text(ds.report))
        return 0
    pf = demo_portfolio(a.accounts, a.seed, a.as_of)
    files = write_portfolio(pf, a.out, fmt=a.format, mapping=a.mapping, encoding=a.encoding)
    truth = a.out / f"truth.{a.format if a.format != 'xlsx' else 'csv'}"
    if a.format == "parquet":
        pf.truth.to_parquet(truth, index=False)
    else:
        pf.truth.to_csv(truth, index=False)
    for f in files + [truth]:
        print(f"wrote {f}")
    print(_report_text(pf.report))
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
        print(_report_text(r, None if a.all else 200))
    return 0 if r.ok else 2


def _report_text(r, max_errors: int | None = 200) -> str:  # noqa: ANN001
    """The load report as :meth:`LoadReport.to_text` writes it, with the counts table formatted for people.

    The reconciliation line (``rows read N = accepted N + rejected N``) stays as the loader
    writes it, without separators, so scripts can parse it.
    """
    from .formatting import fmt_int, render_table

    text = r.to_text(max_errors=max_errors).split("\n")
    table = render_table(["table", "file", "read", "accepted", "rejected"],
                         [[c.table, c.file, fmt_int(c.read), fmt_int(c.accepted), fmt_int(c.rejected)]
                          for c in r.counts.itertuples(index=False)], keys=2)
    n_counts = len(r.counts.to_string(index=False).split("\n"))
    return "\n".join(text[:3] + [table] + text[3 + n_counts:])


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    # Arrow's buffers from the C allocator, unless the user chose a pool: its bundled mimalloc hands
    # freed pages back and takes fresh zeroed ones again; at 1M accounts `segment` spent about 2.5 s
    # more in the kernel with it, and peaked higher (python -m bench segment_end_to_end)
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    args = _parser().parse_args(argv)
    try:
        code = _COMMANDS[args.command](args)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except PlaybookError as exc:
        print(f"playbook {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # `playbook kpis ... | head`: the reader has gone; exit quietly
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # nothing more reaches the closed pipe at exit
        except (OSError, ValueError):  # stdout without a file descriptor (captured in tests)
            pass
        return 141  # 128 + SIGPIPE, as a shell reports a process ended by a closed pipe
