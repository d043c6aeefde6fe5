"""Search the behaviour-type cue weights against both generators (a development tool).

The cues (their evidence, the seed passage each comes from) stay as written; only the
weights move, each keeping its sign (evidence stays evidence, counter-evidence stays
counter-evidence), never dropping below 0.25 in size (no cue is switched off) nor growing
past ``--max-weight``, and no setting may lose more than ``--keep`` of its macro or worst-type
recall. The
search runs on generator seeds that the accuracy bench does not use (``--seeds``, default
7 and 11); the bench (seed 2) is the held-out check.

Every account's evidence is computed once per setting by the playbook's own code
(:func:`playbook.segmentation.clip_evidence` over each cue's expression); a weight vector
is then scored exactly as :func:`playbook.segmentation.score_types` scores it (per-type
sums, rounded to 3 decimals, first maximum, ``min_score``), and only accounts the ordered
rules leave open (not refusing, not no-contact) are rescored. The objective is the
number of settings that meet the bench's targets (with ``MARGIN`` to spare), first; then the
shortfall against them per setting (``0.75 - macro``, ``0.6 - worst type``, where positive),
summed over the settings, minus a tenth of the mean macro recall.

Run ``python -m bench.calibrate_types`` (prints the proposed weights and the per-setting
recall before and after on the search seeds). It writes nothing: a person moves the weights
into ``playbook/content/rules/segmentation.yaml`` and the bench reports the held-out seed.
"""

from __future__ import annotations

import argparse

import numpy as np

from bench.cases_types import ACCURACY_SETTINGS, ACCURACY_TARGETS, generated, segmented

STEP = 0.25
MARGIN = 0.005  # a setting counts as met on a search seed only with this much to spare


def _setting_data(gen: str, kw: dict, seed: int, n: int) -> dict:
    """Evidence matrix (cues x open accounts), truth and fixed predictions of one setting."""
    import pandas as pd

    from playbook.segmentation import clip_evidence

    pf = generated(gen, kw, seed, n)
    pb, seg, f = segmented(pf)
    card = pb.scorecards["behaviour_type"]
    scored = f["attempts"].to_numpy() >= 3
    truth = pf.truth["behaviour_type"].to_numpy()[scored]
    pred = seg["behaviour_type"].astype(str).to_numpy()[scored]
    reason = seg["reason_behaviour_type"].astype(str).to_numpy()[scored]
    rule_ids = {r.id for r in pb.rules["behaviour_type"]}
    open_ = ~np.isin(reason, list(rule_ids))  # accounts the scorecard decides
    columns = {c: f[c] for c in f.columns}
    for c in seg.columns:
        columns.setdefault(c, seg[c])
    cues = [cue for t in card.types for cue in card.types[t]]
    ev = np.empty((len(cues), int(open_.sum())), dtype="float32")
    idx = np.flatnonzero(scored)[open_]
    for j, cue in enumerate(cues):
        v = cue.expression.values(columns, {})
        v = clip_evidence(v if isinstance(v, (pd.Series, np.ndarray)) else np.full(len(f), float(v)))
        ev[j] = v[idx]
    return {"ev": ev, "truth": truth, "pred_fixed": pred, "open": open_}


def _recall(data: dict, w: np.ndarray, owner: np.ndarray, types: list[str], min_score: float) -> tuple[float, float, dict]:
    k = len(types)
    contrib = data["ev"] * w[:, None].astype("float32")
    scores = np.zeros((k, contrib.shape[1]))
    np.add.at(scores, owner, contrib)
    scores = np.round(scores, 3)
    best = scores.argmax(axis=0)
    best_s = scores[best, np.arange(scores.shape[1])]
    names = np.array(types + ["unclassified"])
    pred = data["pred_fixed"].copy()
    pred[data["open"]] = names[np.where(best_s >= min_score, best, k)]
    truth = data["truth"]
    per = {t: float((pred[truth == t] == t).mean()) for t in np.unique(truth)}
    vals = np.array(list(per.values()))
    return float(vals.mean()), float(vals.min()), per


def _objective(results: list[tuple[float, float, dict]]) -> float:
    tm, tw = ACCURACY_TARGETS["macro_recall"], ACCURACY_TARGETS["min_type_recall"]
    met = sum(m >= tm + MARGIN and w >= tw + MARGIN for m, w, _ in results)
    short = sum(max(0.0, tm - m) + max(0.0, tw - w) for m, w, _ in results)
    return -float(met) + short - 0.1 * float(np.mean([m for m, _, _ in results]))


def main(argv: list[str] | None = None) -> None:
    import playbook

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[7, 11])
    ap.add_argument("--accounts", type=int, default=30_000)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--skip", nargs="*", default=[], help="settings left out of the objective")
    ap.add_argument("--max-weight", type=float, default=4.0, help="largest size a weight may take (default: %(default)s)")
    ap.add_argument("--keep", type=float, default=0.002,
                    help="no setting's macro or worst-type recall may fall more than this below its start "
                         "(default: %(default)s): gains on one generator are not bought with the other's")
    args = ap.parse_args(argv)
    card = playbook.load_playbook().scorecards["behaviour_type"]
    types = list(card.types)
    cues = [(t, cue) for t in types for cue in card.types[t]]
    owner = np.array([types.index(t) for t, _ in cues])
    w0 = np.array([cue.weight for _, cue in cues], dtype="float64")
    sets = [(f"{name}@{s}", _setting_data(gen, kw, s, args.accounts))
            for s in args.seeds for name, gen, kw in ACCURACY_SETTINGS if name not in args.skip]

    def evaluate(w: np.ndarray) -> tuple[float, list]:
        res = [_recall(d, w, owner, types, card.min_score) for _, d in sets]
        return _objective(res), res

    best_obj, best_res = evaluate(w0)
    floor = [(m - args.keep, wr - args.keep) for m, wr, _ in best_res]

    def allowed(res: list) -> bool:
        return all(m >= fm and wr >= fw for (m, wr, _), (fm, fw) in zip(res, floor))

    w = w0.copy()
    print(f"start: objective {best_obj:.4f}")
    for rnd in range(args.rounds):
        improved = False
        for j in range(len(w)):
            sign = np.sign(w0[j])
            for delta in (STEP, -STEP, 2 * STEP, -2 * STEP):
                cand = w.copy()
                cand[j] = sign * min(max(abs(w[j] + delta * sign), STEP), max(args.max_weight, abs(w0[j])))
                if cand[j] == w[j]:
                    continue
                obj, res = evaluate(cand)
                if obj < best_obj - 1e-6 and allowed(res):
                    best_obj, best_res, w, improved = obj, res, cand, True
        print(f"round {rnd + 1}: objective {best_obj:.4f}")
        if not improved:
            break
    _, start = evaluate(w0)
    for (name, _), (m0, w0_, _), (m1, w1, per) in zip(sets, start, best_res):
        worst = min(per, key=per.get)
        print(f"{name:34s} macro {m0:.3f} -> {m1:.3f}  worst {w0_:.3f} -> {w1:.3f} ({worst})")
    for (t, cue), a, b in zip(cues, w0, w):
        if a != b:
            print(f"  {t:16s} {cue.id:32s} {a:5.2f} -> {b:5.2f}")


if __name__ == "__main__":
    main()
