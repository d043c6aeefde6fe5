"""The fast paths of features, segmentation and the expression evaluator give exactly the
results of the plain computations they replace (checked on a small demo portfolio)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import playbook
from playbook.expressions import _truth, parse
from playbook.features import derive_features, promise_states
from playbook.segmentation import _idle_treatment, _join_reasons, apply_rules, recommend, score_types, segment

AS_OF = "2026-11-29"


@pytest.fixture(scope="module")
def small():
    pf = playbook.demo_portfolio(3000, 7, AS_OF)
    statuses = np.array(["open", "paid_off", "closed", "charged_off", "sold", "open"], dtype=object)
    pf.accounts["status"] = statuses[np.arange(len(pf.accounts)) % len(statuses)]
    pf.accounts.loc[pf.accounts.index[::11], "status"] = None
    return pf


@pytest.fixture(scope="module")
def feats(small):
    return derive_features(small, AS_OF)


def _same(a, b) -> bool:
    a = a.to_numpy() if isinstance(a, pd.Series) else a
    b = b.to_numpy() if isinstance(b, pd.Series) else b
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.dtype == b.dtype and a.shape == b.shape and bool(np.all((a == b) | (pd.isna(a) & pd.isna(b))))
    return type(a) is type(b) and (a == b or (pd.isna(a) and pd.isna(b)))


EXTRA = ["attempts / rpc_count", "attempts % 3", "where(attempts >= 3, 1, 0) * 2", "where(dpd > 30, 1, 0.5)",
         "min(rpc_rate, 0.2) + max(-dpd, -40)", "abs(dpd - 45) < 10", "isna(rpc_rate) or notna(days_since_last_rpc)",
         "not (dpd > 30) and -dpd <= -5", "1 < dpd <= 60 < 100", "1 + 2", "True", "where(True, dpd, 0)",
         "where(dpd > 30, 1, 0) % 2", "where(dpd > 30, 3, 1) / where(rpc_count > 0, 1, 0)", "rpc_count == 0 or 0"]


def test_fast_evaluator_gives_the_general_evaluators_values(feats):
    pb = playbook.load_playbook()
    cols = {c: feats[c] for c in feats.columns}
    texts = [r.when for rules in pb.rules.values() for r in rules] + EXTRA
    texts += [c.evidence for card in pb.scorecards.values() for cues in card.types.values() for c in cues]
    seg = apply_rules(feats, pb)
    for d in pb.rules:
        cols[d] = seg[d]
    fast = 0
    for text in dict.fromkeys(texts):
        e = parse(text)
        fast += e._fast(cols) is not None
        general = e.evaluate(cols)
        assert _same(e.values(cols), general), text
        t = _truth(general)
        expected = np.asarray(t, dtype=bool) if isinstance(t, pd.Series) else np.full(len(feats), bool(t))
        assert np.array_equal(e.mask(cols, len(feats)), expected), text
    assert fast > 40  # most rule and cue expressions take the fast path


def _score_types_reference(columns, n, card):  # noqa: ANN001 - the plain computation, kept for comparison
    types = list(card.types)
    k = len(types)
    cue_ids, owner, contrib = [], [], []
    for ti, t in enumerate(types):
        for cue in card.types[t]:
            v = cue.expression.evaluate(columns)
            v = np.asarray(v, dtype="float64") if isinstance(v, pd.Series) else np.full(n, float(v))
            v = np.clip(np.nan_to_num(v, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
            contrib.append((v * cue.weight).astype("float32"))
            cue_ids.append(cue.id)
            owner.append(ti)
    c = np.vstack(contrib)
    owner_a = np.array(owner)
    scores = np.zeros((k, n))
    for ti in range(k):
        scores[ti] = c[owner_a == ti].sum(axis=0)
    scores = np.round(scores, 3)
    order = np.argsort(-scores, axis=0, kind="stable")
    best, second = order[0], order[1]
    cols = np.arange(n)
    best_s, second_s = scores[best, cols], scores[second, cols]
    assigned = best_s >= card.min_score
    type_idx = np.where(assigned, best, k)
    live = (c > 0) & (owner_a[:, None] == type_idx[None, :])
    strength = np.where(live, c, 0)
    top = np.argmax(strength, axis=0)
    fired = []
    for j in range(n):
        ids = [cue_ids[top[j]]] + [cue_ids[r] for r in range(len(cue_ids)) if live[r, j] and r != top[j]] \
            if live[:, j].any() else []
        fired.append(";".join(ids))
    return {"type": type_idx, "score": best_s, "runner_up": np.where(assigned, second, best),
            "runner_up_score": np.where(assigned, second_s, best_s),
            "top_cue": np.where(assigned & live.any(axis=0), top, len(cue_ids)), "fired": np.array(fired, dtype=object)}


def test_score_types_matches_the_plain_computation(feats):
    pb = playbook.load_playbook()
    card = pb.scorecards["behaviour_type"]
    cols = {c: feats[c] for c in feats.columns}
    got = score_types(cols, len(feats), card)
    ref = _score_types_reference(cols, len(feats), card)
    for key in ("type", "score", "runner_up", "runner_up_score", "top_cue"):
        assert np.array_equal(got[key], ref[key]), key
    assert np.array_equal(np.asarray(got["fired"], dtype=object), ref["fired"])
    assert list(got["fired"].categories) == sorted(set(ref["fired"]))


def test_segment_texts_built_on_codes_match_the_plain_ones(small, feats):
    pb = playbook.load_playbook()
    seg = apply_rules(feats, pb)
    # recommend: categorical columns read by their codes, as the values themselves
    plain = seg[["behaviour_type", "stage", "contactability", "vulnerable"]].astype(object)
    plain.loc[plain.index[::5], "behaviour_type"] = np.nan
    cat = plain.astype("category")
    for lang in ("en", "zh"):
        pd.testing.assert_series_equal(recommend(cat, pb, lang), recommend(plain, pb, lang))
    # reasons: factorized from the int codes, as from the values
    dims = list(pb.rules)
    obj = seg.copy()
    for d in dims:
        obj[f"reason_{d}"] = obj[f"reason_{d}"].astype(object)
    a, b = _join_reasons(seg, dims), _join_reasons(obj, dims)
    assert list(a.categories) == list(b.categories) and np.array_equal(a.codes, b.codes)
    # not worked: the treatment texts built per distinct status
    out = segment(small, AS_OF)
    worked = out["worked"].to_numpy()
    assert not worked.all() and worked.any()
    treatment = recommend(seg, pb, "en")
    head = pb.text("status.not_worked", "en")
    why = {st: pb.text(f"status.{st}", "en") for st in playbook.schema.NOT_WORKED}
    status = out["status"]
    idle_text = (head + ": " + pd.Series(status).map(why).fillna(pb.text("status.nothing_owed", "en"))).to_numpy()
    expected = pd.Series(np.where(worked, treatment.astype(object).to_numpy(), idle_text), dtype="category").array
    got = _idle_treatment(treatment.array, worked, status, pb, "en")
    assert list(got.categories) == list(expected.categories) and np.array_equal(got.codes, expected.codes)
    pd.testing.assert_series_equal(out["recommended_treatment"].astype(object),
                                   pd.Series(expected, name="recommended_treatment").astype(object))


def test_features_with_given_promises_match_features_deriving_them(small, feats):
    pb = playbook.load_playbook()
    ps = promise_states(small.interactions, small.payments, AS_OF)
    given = derive_features(small, AS_OF, playbook=pb, promises=ps)
    pd.testing.assert_frame_equal(given, feats, check_exact=True)
    # promises whose rows do not line up with the interactions: looked up by account id
    shuffled = ps.sample(frac=1.0, random_state=1).reset_index(drop=True)
    pd.testing.assert_frame_equal(derive_features(small, AS_OF, playbook=pb, promises=shuffled), feats, check_exact=True)
    assert list(feats.columns) == list(pb.features)
