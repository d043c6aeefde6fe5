"""``playbook explain DATA --as-of D --account ID``: why accounts have their segments."""

from __future__ import annotations

import argparse
import json

from . import DATA_HELP, JSON_HELP, LANG, LANG_HELP, MAPPING_HELP
from .analyse import _clean as _number  # NaN and inf as null, NumPy scalars as Python's

NAME = "explain"


def add_parser(sub: "argparse._SubParsersAction") -> None:
    """Add the ``explain`` sub-parser."""
    p = sub.add_parser(NAME, help="why accounts have their segments: the rule or the cues behind each",
                       description="Segment the portfolio and print, for each account asked for, every segment "
                                   "with the reason it was assigned; for the behavioural type: its score and "
                                   "confidence, the runner-up, each cue that fired with the account's values, its "
                                   "weight and strength and the seed passage it comes from, and the counter-evidence "
                                   "that applied. Only account ids and features are shown, no personal data.")
    p.add_argument("data", help=DATA_HELP)
    p.add_argument("--as-of", required=True, help="the day the segments are computed for, e.g. 2026-11-29")
    p.add_argument("--account", required=True, nargs="+", metavar="ID", help="one or more account ids")
    p.add_argument("--mapping", help=MAPPING_HELP)
    p.add_argument("--window-days", type=int, default=90,
                   help="days of contact history the features look back over (default: %(default)s)")
    p.add_argument("--lang", choices=["zh", "en"], default=LANG, help=LANG_HELP)
    p.add_argument("--json", action="store_true", help=JSON_HELP)


def run(a: argparse.Namespace) -> int:
    """Print the explanation of every account asked for; an unknown id exits 2 before anything is printed."""
    from ..content import load_playbook
    from ..errors import ArgumentError
    from ..formatting import fmt_number, fmt_rate, render_table, wrap
    from ..prepared import prepare
    from ..reasons import explain, explain_type, named_values
    from ..segmentation import segment
    from . import load, segment_skip

    pf = load(a, skip=segment_skip())
    pb = load_playbook()
    ids = pf.accounts["account_id"].astype(str)
    unknown = [x for x in a.account if x not in set(ids)]
    if unknown:  # a book has many accounts: name a few that exist and how many there are
        raise ArgumentError("--account", ", ".join(unknown),
                            f"account ids of the portfolio ({len(ids):,} accounts, e.g. {', '.join(ids.head(5))})")
    prep = prepare(pf, a.as_of, window_days=a.window_days, playbook=pb)
    seg = segment(prep, lang=a.lang, playbook=pb)
    features = prep.features_for(a.window_days)
    currency = pf.currency or pb.currency
    lang = a.lang
    zh = lang == "zh"
    colon = "：" if zh else ": "
    out = []
    for acc in a.account:
        reasons = explain(seg, features, acc, lang, pb, currency=currency)
        e = explain_type(seg, features, acc, lang, pb, currency=currency)
        if a.json:
            out.append({"account_id": acc, "reasons": reasons,
                        "behaviour_type": {k: (_number(v) if k not in ("cues", "against") else
                                               [{**c, "strength": _number(c["strength"]),
                                                 "values": {f: _number(v2) for f, v2 in c["values"].items()}}
                                                for c in v]) for k, v in e.items()}})
            continue
        print(f"== {acc}")
        rows = [[pb.dimension(d).name(lang), seg.loc[seg["account_id"] == acc, d].astype(str).iloc[0], text]
                for d, text in reasons.items() if d != "behaviour_type"]
        label = pb.text
        print(wrap(f"{pb.dimension('behaviour_type').name(lang)}{colon}{e['type_name']}"
                   + ("" if e["gate"] else
                      f"{'，' if zh else ', '}{label('cli.explain_score', lang)} {fmt_number(e['score'], 2)}"
                      f"{'，' if zh else ', '}{label('cli.explain_confidence', lang)} {fmt_rate(e['confidence'], 0)}")
                   + (f"{'；' if zh else '; '}{label('explorer.runner_up', lang)}{colon}{e['runner_up_name']}"
                      + (f"（{fmt_number(e['runner_up_score'], 2)}）" if zh else f" ({fmt_number(e['runner_up_score'], 2)})")
                      if e["runner_up"] else "")))
        if e["gate"]:
            print(wrap(f"{label('cli.explain_gate', lang)}{colon}{e['gate']}"))
        for head, cues in ((label("cli.explain_cues", lang), e["cues"]), (label("explorer.against", lang), e["against"])):
            if not cues:
                continue
            print()
            print(render_table(
                [head, label("cli.explain_values", lang), label("cli.explain_weight", lang),
                 label("cli.explain_strength", lang), label("cli.explain_seed", lang)],
                [[c["text"], ("，" if zh else ", ").join(f"{n} {v}" for n, v in
                                                          named_values(c["values"], lang, pb, currency=currency)),
                  fmt_number(c["weight"], 2), fmt_number(c["strength"], 2), c["seed"]] for c in cues],
                align="llrrl", wrap_cols=(0, 1, 4)))
        print()
        print(render_table([label("cli.explain_dimension", lang), "id", label("cli.explain_reason", lang)], rows,
                           align="lll", wrap_cols=(2,)))
        print()
    if a.json:
        print(json.dumps(out, ensure_ascii=False, indent=1))
    return 0
