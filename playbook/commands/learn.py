"""``playbook learn RESULTS... --out FILE``: update the treatment effects with champion/challenger results."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from . import JSON_HELP, LANG, LANG_HELP

NAME = "learn"


def add_parser(sub: "argparse._SubParsersAction") -> None:
    """Add the ``learn`` sub-parser."""
    p = sub.add_parser(NAME, help="update treatment effects with champion/challenger results",
                       description="Bayesian update of the response model's treatment effects with the results files "
                                   "of champion/challenger tests (written by playbook.whatif.analyze_test(out=...)); "
                                   "writes a new versioned response file with its provenance. Use it with "
                                   "'playbook whatif --response FILE'.")
    p.add_argument("results", nargs="+", type=Path, metavar="RESULTS",
                   help="results files (YAML), applied in the order given")
    p.add_argument("--response", default=None, metavar="FILE",
                   help="the response version to start from (default: the shipped response.yaml, v1)")
    p.add_argument("--out", required=True, type=Path, metavar="FILE",
                   help="the new versioned response file to write (YAML)")
    p.add_argument("--lang", choices=["zh", "en"], default=LANG, help=LANG_HELP)
    p.add_argument("--json", action="store_true", help=JSON_HELP)


def run(a: argparse.Namespace) -> int:
    """Learn, write the new version, print how far each effect moved."""
    from ..content import load_playbook
    from ..formatting import fmt_int, fmt_rate, render_table, wrap
    from ..learning import learn, write_response
    from ..whatif import load_response

    pb = load_playbook()
    base = load_response(a.response, playbook=pb)
    new, entries = learn(a.results, response=base, playbook=pb)
    written = write_response(new, a.out, parent=base)
    if a.json:
        print(json.dumps({"from": base.label, "to": written.label, "path": str(a.out), "updates": entries},
                         ensure_ascii=False, indent=2))
        return 0

    def t(key: str, **kw: object) -> str:
        text = pb.text(f"optimiser.{key}", a.lang)
        return text.format(**kw) if kw else text

    def f(x: float) -> str:
        return f"{x:.3f}"

    print(wrap(t("learn_title", base=base.label, new=written.label, path=str(a.out))))
    rows = [[e["test"], e["effect"], e["param"], f"{fmt_int(e['n_champion'])} / {fmt_int(e['n_challenger'])}",
             f"{f(e['prior']['factor'])} [{f(e['prior']['p05'])}, {f(e['prior']['p95'])}]",
             f"{f(e['observed']['factor'])}",
             f"{f(e['posterior']['factor'])} [{f(e['posterior']['p05'])}, {f(e['posterior']['p95'])}]",
             fmt_rate(e["moved"], signed=True)] for e in entries]
    print()
    print(render_table([t("test"), t("effect"), t("param"), t("arms"), t("prior"), t("observed"), t("posterior"),
                        t("moved")], rows))
    print("\n" + wrap(t("learn_note")))
    return 0
