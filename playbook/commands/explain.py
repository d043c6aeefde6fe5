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
                                   "weight, evidence (0-1) and contribution (weight x evidence; the contributions, "
                                   "counter-evidence included, add up to the score) and the seed passage it comes "
                                   "from, and the counter-evidence that applied. The best score is assigned when it "
                                   "reaches the scorecard's minimum; a tie goes to the type first in the taxonomy's "
                                   "order (said when it happens). Confidence: the best score's share of best plus "
                                   "runner-up, scaled down when the two are closer than the scorecard's margin. "
                                   "Only account ids and features are shown, no personal data.")
    p.add_argument("data", help=DATA_HELP)
    p.add_argument("--as-of", required=True, help="the day the segments are computed for, e.g. 2026-11-29")
    p.add_argument("--account", required=True, nargs="+", metavar="ID", help="one or more account ids")
    p.add_argument("--mapping", help=MAPPING_HELP)
    p.add_argument("--window-days", type=int, default=90,
                   help="days of contact history the features look back over (default: %(default)s)")
    p.add_argument("--lang", choices=["zh", "en"], default=LANG, help=LANG_HELP)
    p.add_argument("--json", action="store_true", help=JSON_HELP)


def _category(pb, dim: str, value: object, lang: str) -> str:  # noqa: ANN001 - a Playbook
    """A segment's category by its name (the id when the dimension has no such category)."""
    d, cid = pb.dimension(dim), str(value)
    return d.category(cid).name(lang) if cid in d.ids else cid


def run(a: argparse.Namespace) -> int:
    """Print the explanation of every account asked for; an unknown id exits 2 before anything is printed."""
    from ..content import load_playbook
    from ..errors import ArgumentError
    from ..formatting import fmt_number, fmt_rate, punctuation, render_table, wrap
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
    p = punctuation(lang)
    colon, comma, semi = p.colon, p.comma, p.semicolon
    card = pb.scorecards["behaviour_type"]
    label = pb.text
    by_id = seg.set_index(seg["account_id"].astype(str))
    out = []
    if not a.json:  # what a missing table leaves unknown, next to the reasons it affects (load says it on stderr too)
        for table in pf.missing:
            print(wrap(f"{label('cli.explain_missing', lang)}{colon}{pb.text(f'missing.{table}', lang)}"))
    for acc in a.account:
        reasons = explain(seg, features, acc, lang, pb, currency=currency)
        e = explain_type(seg, features, acc, lang, pb, currency=currency)
        row = by_id.loc[acc]
        tie = bool(not e["gate"] and e["runner_up"] and e["type"] != card.fallback
                   and round(e["score"], 3) == round(e["runner_up_score"], 3))
        if a.json:
            cue = lambda c: {"id": c["id"], "text": c["text"], "seed": c["seed"], "weight": c["weight"],  # noqa: E731
                             "evidence": _number(c["evidence"]), "contribution": _number(c["strength"]),
                             "values": {f: _number(v) for f, v in c["values"].items()}}
            bt = {k: _number(v) for k, v in e.items() if k not in ("cues", "against")}
            bt.update(cues=[cue(c) for c in e["cues"]], against=[cue(c) for c in e["against"]], tie=tie,
                      min_score=card.min_score, worked=bool(row["worked"]))
            out.append({"account_id": acc, "reasons": reasons, "behaviour_type": bt})
            continue
        print(f"== {acc}")
        line = f"{pb.dimension('behaviour_type').name(lang)}{colon}{e['type_name']}"
        if e["gate"]:
            print(wrap(line))
            print(wrap(f"{label('cli.explain_gate', lang)}{colon}{e['gate']}"))
        elif e["type"] == card.fallback:  # too little evidence: the closest type and the minimum it missed
            closest = (label("cli.explain_closest", lang).format(type=e["runner_up_name"], score=fmt_number(e["score"], 2),
                                                                 min=fmt_number(card.min_score, 2))
                       if e["runner_up"] else label("cli.explain_no_evidence", lang))
            print(wrap(f"{line}{semi}{closest}"))
        else:
            line += (f"{comma}{label('cli.explain_score', lang)} {fmt_number(e['score'], 2)}"
                     f"{comma}{label('cli.explain_confidence', lang)} {fmt_rate(e['confidence'], 0)}")
            if e["runner_up"]:
                ru = fmt_number(e["runner_up_score"], 2)
                line += f"{semi}{label('explorer.runner_up', lang)}{colon}{e['runner_up_name']}{p.bracket(ru)}"
            print(wrap(line))
            if tie:
                print(wrap(label("cli.explain_tie", lang).format(type=e["type_name"], other=e["runner_up_name"])))
        if not bool(row["worked"]):
            print(wrap(f"{label('cli.explain_queue', lang)}{colon}{label('status.not_worked', lang)}"))
        seeds: list[str] = []
        for head, cues in ((label("cli.explain_cues", lang), e["cues"]), (label("explorer.against", lang), e["against"])):
            if not cues:
                continue
            rows = []
            for c in cues:
                if c["seed"] not in seeds:
                    seeds.append(c["seed"])
                vals = comma.join(f"{n} {v}" for n, v in named_values(c["values"], lang, pb, currency=currency))
                rows.append([f"{c['text']} [{seeds.index(c['seed']) + 1}]", vals, fmt_number(c["weight"], 2),
                             fmt_number(c["evidence"], 2), fmt_number(c["strength"], 2)])
            print()
            print(render_table([head, label("cli.explain_values", lang), label("cli.explain_weight", lang),
                                label("cli.explain_evidence", lang), label("cli.explain_strength", lang)],
                               rows, align="llrrr", wrap_cols=(0, 1)))
        if seeds:
            print()
            print((label("cli.explain_seed", lang) + colon).rstrip())
            for i, text in enumerate(seeds, 1):
                print(wrap(f"[{i}] {text}", subsequent="    "))
        dims = [[pb.dimension(d).name(lang), _category(pb, d, row[d], lang), str(row[d]), text]
                for d, text in reasons.items() if d != "behaviour_type"]
        print()
        print(render_table([label("cli.explain_dimension", lang), label("cli.explain_category", lang), "id",
                            label("cli.explain_reason", lang)], dims, align="llll", wrap_cols=(1, 3)))
        print()
    if a.json:
        print(json.dumps(out, ensure_ascii=False, indent=1))
    return 0
