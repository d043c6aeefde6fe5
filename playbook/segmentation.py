"""Segment a portfolio by the playbook's ordered rules, with a reason for every assignment.

For each dimension, in the order of ``rules/segmentation.yaml``, the first rule whose
``when`` holds assigns its ``then``; the rule's id is the reason and its confidence is
recorded. Expressions are evaluated over the whole feature frame at once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._checks import check_choice, check_positive_int
from ._docstrings import share_docs
from .arrays import unique_inverse
from .content import Playbook, Scorecard, load_playbook
from .expressions import shared_subexpressions
from .features import COLUMNS_READ as _FEATURES_READ
from .portfolio import Portfolio
from .prepared import Prepared, prepared_for
from .schema import NOT_WORKED

__all__ = ["segment", "apply_rules", "score_types", "clip_evidence", "priority_score", "recommend", "is_worked",
           "COLUMNS_READ"]

_DAYS_TO_ROLL = np.array([30, 60, 90])
#: the contract columns :func:`segment` reads, per table: those of the features (the rules
#: read only features) and the accounts' ids it labels the rows with
COLUMNS_READ: dict[str, tuple[str, ...]] = {**_FEATURES_READ,
                                           "accounts": tuple(dict.fromkeys(("account_id", *_FEATURES_READ["accounts"])))}


def apply_rules(features: pd.DataFrame, playbook: Playbook | None = None) -> pd.DataFrame:
    """Assign every rule-driven dimension; returns categories, reasons and confidences.

    Returns a frame indexed like ``features`` with, per dimension ``d``, the columns
    ``d``, ``reason_d`` (the id of the rule that fired) and ``confidence_d``. An account no
    rule matches gets a missing category and the reason ``no_rule_matched``.

    A dimension with a scorecard (``scorecards`` in ``rules/segmentation.yaml``) runs its
    rules first as gates; the accounts no gate decides are scored (:func:`score_types`):
    the reason is then the strongest cue of the assigned category, and the columns
    ``score_d``, ``runner_up_d``, ``runner_up_score_d`` and ``cues_d`` (the ids of the
    assigned category's cues that fired, strongest first) are added.

    Every rule and cue reads one account's row only, so a large book is done in two halves
    side by side (NumPy releases the GIL) and joined: the result is the same, categories
    and their order included.
    """
    pb = playbook or load_playbook()
    n = len(features)
    if n < _SPLIT_ROWS:
        return _apply_rules(features, pb)
    from concurrent.futures import ThreadPoolExecutor

    half = n // 2
    with ThreadPoolExecutor(max_workers=2) as pool:
        parts = list(pool.map(lambda rows: _apply_rules(features.iloc[rows], pb), (slice(0, half), slice(half, n))))
    return _join_rows(parts, features.index)


#: books of at least this many accounts get their rules applied in two halves side by side
_SPLIT_ROWS = 200_000


def _join_rows(parts: list[pd.DataFrame], index: pd.Index) -> pd.DataFrame:
    """The rows of ``parts`` one after another, ``index`` as index: categorical columns keep
    their categories in their order (the same in every part, or sorted texts, as the
    fired-cue columns are: then the sorted union)."""
    from pandas.api.types import union_categoricals

    out = {}
    for c in parts[0].columns:
        cols = [p[c] for p in parts]
        if isinstance(cols[0].dtype, pd.CategoricalDtype):
            same = all(x.cat.categories.equals(cols[0].cat.categories) for x in cols[1:])
            out[c] = union_categoricals([x.array for x in cols], sort_categories=not same)
        else:
            out[c] = np.concatenate([x.to_numpy() for x in cols])
    return pd.DataFrame(out, index=index, copy=False)


def _apply_rules(features: pd.DataFrame, pb: Playbook) -> pd.DataFrame:
    columns = {c: features[c] for c in features.columns}  # the caller's frame is never written to
    out = {}
    n = len(features)
    texts = [r.when for rules in pb.rules.values() for r in rules]
    shared = {t for t in texts if texts.count(t) > 1}  # the same `when` in several places: evaluated once
    masks: dict[str, np.ndarray] = {}
    for dim, rules in pb.rules.items():
        card = pb.scorecards.get(dim)
        cats = list(dict.fromkeys(r.then for r in rules))
        if card is not None:
            cats = list(dict.fromkeys(cats + list(card.types) + [card.fallback]))
        reason = np.full(n, len(rules), dtype="int32")
        open_ = np.ones(n, dtype=bool)
        for i, rule in enumerate(rules):
            if not open_.any():
                break
            if rule.when in shared:
                if rule.when not in masks:
                    masks[rule.when] = rule.expression.mask(columns, n)
                hit = masks[rule.when] & open_
            else:
                hit = rule.expression.mask(columns, n) & open_
            reason[hit] = i
            open_ &= ~hit
        # category and confidence per rule (the last entry: no rule matched), taken once
        cat = np.array([cats.index(r.then) for r in rules] + [-1], dtype="int16")[reason]
        conf = np.array([r.confidence for r in rules] + [0.0], dtype="float64")[reason]
        reason_ids = [r.id for r in rules] + ["no_rule_matched"]
        if card is not None:
            sc = score_types(columns, n, card)
            top_cue = len(reason_ids) + sc.pop("top_cue")
            reason_ids += sc.pop("cue_ids")
            cat[open_] = np.array([cats.index(t) for t in sc["type_names"]])[sc["type"][open_]]
            reason[open_] = top_cue[open_]
            conf[open_] = sc["confidence"][open_]
            out[f"score_{dim}"] = np.where(open_, sc["score"], np.nan)
            # runner_up indexes the card's types (never the fallback): its codes are the categories'
            out[f"runner_up_{dim}"] = pd.Categorical.from_codes(
                np.where(open_ & (sc["runner_up_score"] > 0), sc["runner_up"], -1), categories=list(card.types))
            out[f"runner_up_score_{dim}"] = np.where(open_, sc["runner_up_score"], np.nan)
            out[f"cues_{dim}"] = _mask_categorical(sc["fired"], open_)
            del sc
        columns[dim] = pd.Series(pd.Categorical.from_codes(cat, categories=cats), index=features.index)
        out[dim] = columns[dim]
        out[f"reason_{dim}"] = pd.Categorical.from_codes(reason, categories=reason_ids)
        out[f"confidence_{dim}"] = conf
    del masks
    return pd.DataFrame(out, index=features.index, copy=False)  # the columns as built: no consolidating copy


def _mask_categorical(c: pd.Categorical, keep: np.ndarray) -> pd.Categorical:
    """``c`` (sorted text categories) with ``""`` where ``keep`` is False; the categories stay sorted."""
    if keep.all():
        return c
    cats = list(c.categories)
    codes = c.codes.astype("int64")
    if "" not in cats:  # "" sorts first: every other code moves up by one
        cats.insert(0, "")
        codes = np.where(codes >= 0, codes + 1, codes)
    codes = np.where(keep, codes, cats.index(""))
    return pd.Categorical.from_codes(codes, categories=cats)


def _first_max(rows: np.ndarray) -> np.ndarray:
    """Per column, the first row holding the column's maximum (``argmax(axis=0)`` without
    its transposed copy; the values hold no NaN)."""
    best = np.zeros(rows.shape[1], dtype="int64")
    if not len(rows):
        return best
    top = rows[0].copy()
    for i in range(1, len(rows)):
        up = rows[i] > top  # strictly greater: ties keep the first row
        best[up] = i
        np.maximum(top, rows[i], out=top)
    return best


def clip_evidence(values: "np.ndarray | pd.Series") -> np.ndarray:
    """A cue's evidence as the scorecard counts it: clipped to 0-1, a missing value 0 (+inf
    1, -inf 0); a new float64 array, never the caller's column (two passes: fmax and fmin
    skip NaN)."""
    v = np.fmax(np.asarray(values, dtype="float64"), 0.0)
    np.fmin(v, 1.0, out=v)
    return v


def score_types(columns, n: int, card: Scorecard) -> dict:  # noqa: ANN001 - a mapping of feature Series
    """Score every category of ``card`` for every account, vectorised.

    A cue contributes ``weight x clip(evidence, 0, 1)`` (missing evidence counts 0); a
    category's score is the sum of its cues. The best category is assigned when its
    score reaches ``card.min_score``, else ``card.fallback`` (too little evidence for
    every category). ``confidence`` is ``best / (best + runner-up)`` scaled down by
    ``min(1, (best - runner-up) / margin)`` when the two are closer than the margin, so a
    close call never looks certain.

    Returns a dict: ``type`` (index into ``type_names``: the card's categories, then the
    fallback), ``score``, ``runner_up`` (index), ``runner_up_score``, ``confidence``,
    ``fired`` (per account, the ids of the assigned category's cues that contributed,
    strongest first, joined by ``;``, as a Categorical), ``top_cue`` (index into
    ``cue_ids``, the assigned category's strongest cue, or the fallback id) and
    ``cue_ids`` (every cue id, then ``card.fallback_id``).
    """
    types = list(card.types)
    k = len(types)
    cues = [cue for t in types for cue in card.types[t]]
    cue_ids = [cue.id for cue in cues]
    bounds = np.cumsum([0] + [len(card.types[t]) for t in types])  # type ti owns cue rows bounds[ti]:bounds[ti+1]
    m = len(cues)
    texts = [cue.expression.text for cue in cues]
    shared = {t for t in texts if texts.count(t) > 1}
    evidence: dict[str, np.ndarray] = {}
    memo = shared_subexpressions(cue.expression for cue in cues)  # e.g. the ability reading several cues use

    def contributions(lo: int, hi: int) -> np.ndarray:
        """Cues ``lo:hi`` x accounts: each cue's weighted evidence."""
        c = np.empty((hi - lo, n), dtype="float32")
        for j in range(lo, hi):
            cue = cues[j]
            v = evidence.get(texts[j]) if texts[j] in shared else None
            if v is None:  # each distinct evidence expression is evaluated once
                v = cue.expression.values(columns, memo)
                v = clip_evidence(v if isinstance(v, (pd.Series, np.ndarray)) else np.full(n, float(v)))
                if texts[j] in shared:
                    evidence[texts[j]] = v
            c[j - lo] = v * cue.weight  # float64 product rounded to float32, as astype would
            del v
        return c

    scores = np.zeros((k, n), dtype="float64")
    streamed = m <= 56  # one category's cues at a time; the fired cues as one bit set per account
    if streamed:
        bits = np.zeros(n, dtype="int64")  # bit r: cue r contributed (for the category that owns it)
        tops = np.zeros((k, n), dtype="int16")  # per category, its strongest contributing cue
        for ti in range(k):
            lo, hi = int(bounds[ti]), int(bounds[ti + 1])
            if hi == lo:
                continue
            c = contributions(lo, hi)
            scores[ti] = c.sum(axis=0)
            live = c > 0
            for r in range(hi - lo):
                bits |= live[r].astype("int64") << (lo + r)
            tops[ti] = lo + _first_max(np.where(live, c, 0))
            del c, live
    else:  # many cues: the full cues x accounts matrix
        c = contributions(0, m)
        for ti in range(k):
            scores[ti] = c[bounds[ti]:bounds[ti + 1]].sum(axis=0)
    del evidence, memo
    np.round(scores, 3, out=scores)  # decisions and the reported scores use the same numbers
    cols = np.arange(n)
    best = _first_max(scores)  # the highest score, the first category on a tie
    best_s = scores[best, cols]
    if k > 1:
        scores[best, cols] = -np.inf
        second = _first_max(scores)  # the highest of the others, the first on a tie
        scores[best, cols] = best_s
    else:
        second = best
    second_s = scores[second, cols]
    del scores
    assigned = best_s >= card.min_score
    pos_best, pos_second = np.maximum(best_s, 0), np.maximum(second_s, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(pos_best + pos_second > 0, pos_best / (pos_best + pos_second), 0.0)
    gap = np.minimum(1.0, (best_s - second_s) / card.margin) if card.margin > 0 else np.ones(n)
    confidence = np.where(assigned, np.round(share * (0.5 + 0.5 * gap), 3), 0.0)
    type_idx = np.where(assigned, best, k)
    # fired cues of the assigned category (those with a positive contribution), strongest first
    if streamed:
        own_bits = np.array([sum(1 << r for r in range(int(bounds[ti]), int(bounds[ti + 1]))) for ti in range(k)] + [0],
                            dtype="int64")
        bits &= own_bits[type_idx]  # only the assigned category's cues (none for the fallback)
        top = np.where(bits != 0, tops[np.minimum(type_idx, k - 1), cols], 0).astype("int64")
        del tops
        top_cue = np.where(assigned & (bits != 0), top, len(cue_ids))
        fired = _fired_text_bits(bits, top, cue_ids)
    else:
        own = np.repeat(np.arange(k), np.diff(bounds))[:, None] == type_idx[None, :]
        live = (c > 0) & own
        strength = np.where(live, c, 0)
        del c, own
        top = np.argmax(strength, axis=0)
        top_cue = np.where(assigned & live.any(axis=0), top, len(cue_ids))
        fired = _fired_text(live, strength, cue_ids)
    return {"type": type_idx, "type_names": types + [card.fallback], "score": best_s,
            "runner_up": np.where(assigned, second, best), "runner_up_score": np.where(assigned, second_s, best_s),
            "confidence": confidence, "fired": fired, "top_cue": top_cue, "cue_ids": cue_ids + [card.fallback_id]}


def _fired_text_bits(bits: np.ndarray, top: np.ndarray, cue_ids: list[str]) -> pd.Categorical:
    """:func:`_fired_text` from one bit set per account (bit r: cue r fired) and its strongest
    fired cue: the text is built once per distinct (set, strongest) pair."""
    n = len(bits)
    m = len(cue_ids)
    if m == 0 or not bits.any():
        return pd.Categorical(np.full(n, "", dtype=object))
    key = bits * 64 + top  # one int64 per account: a 1-d unique, not a row-wise one
    first, inverse = unique_inverse(key)
    texts = []
    for j in first:
        b, t = int(bits[j]), int(top[j])
        ids = [cue_ids[t]] + [cue_ids[r] for r in range(m) if b >> r & 1 and r != t] if b else []
        texts.append(";".join(ids))
    cats, code = np.unique(np.array(texts, dtype=object), return_inverse=True)
    return pd.Categorical.from_codes(code.reshape(-1)[inverse.reshape(-1)], categories=list(cats))


def _fired_text(live: np.ndarray, strength: np.ndarray, cue_ids: list[str]) -> pd.Categorical:
    """Per account, the ids of the live cues joined by ``;``: the strongest first, then the
    others in file order. The text is built once per distinct (set, strongest) pair."""
    m, n = live.shape
    if m == 0 or not live.any():
        return pd.Categorical(np.full(n, "", dtype=object))
    top = np.argmax(strength, axis=0).astype("int64")
    if m <= 56:
        bits = np.zeros(n, dtype="int64")
        for i in range(m):
            bits |= live[i].astype("int64") << i
        key = bits * 64 + top  # one int64 per account: a 1-d unique, not a row-wise one
        first, inverse = unique_inverse(key)
    else:  # many cues: pack the booleans row-wise instead
        key = np.concatenate([np.packbits(live, axis=0).T.astype("int64"), top[:, None]], axis=1)
        _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    texts = []
    for j in first:
        ids = [cue_ids[top[j]]] + [cue_ids[r] for r in range(m) if live[r, j] and r != top[j]] if live[:, j].any() else []
        texts.append(";".join(ids))
    cats, code = np.unique(np.array(texts, dtype=object), return_inverse=True)
    return pd.Categorical.from_codes(code.reshape(-1)[inverse.reshape(-1)], categories=list(cats))


def is_worked(features: pd.DataFrame) -> np.ndarray:
    """Whether each account belongs in a queue: its status is not one of
    :data:`playbook.schema.NOT_WORKED` (paid off, closed, settled, sold, bankrupt,
    deceased) and it is overdue (days past due or overdue amount above 0): an account that
    is up to date is not in a collection queue."""
    owed = (features["overdue_amount"].fillna(0).to_numpy() > 0) | (features["dpd"].fillna(0).to_numpy() > 0)
    status = features["status"]
    if isinstance(status.dtype, pd.StringDtype):  # text: compared as is (a missing status is not one of them)
        return ~status.isin(NOT_WORKED).to_numpy(dtype=bool) & owed
    return ~np.isin(status.astype(str).to_numpy(), NOT_WORKED) & owed


def priority_score(features: pd.DataFrame, segments: pd.DataFrame) -> pd.Series:
    """Priority 0-100: expected value of working the account today, ranked.

    ``value = overdue_amount x p_pay x urgency``, where ``p_pay`` is 0.6 / 0.35 / 0.15 for
    willingness high / unknown / low, scaled by 1 / 0.5 / 0.2 for reachable (or unknown) /
    semi-lost / lost; ``urgency`` is 1.5 when a promise falls due (pending promise), 1.3
    when the account rolls to the next bucket within 5 days, else 1. The score is the
    percentile rank of ``value`` (100 = work first).
    """
    will = segments["willingness"].map({"high": 0.6, "unknown": 0.35, "low": 0.15}).fillna(0.35).to_numpy()
    reach = segments["contactability"].map({"semi_lost": 0.5, "lost": 0.2}).fillna(1.0).to_numpy()
    dpd = features["dpd"].to_numpy()
    to_roll = np.min(np.where(_DAYS_TO_ROLL[None, :] >= dpd[:, None], _DAYS_TO_ROLL[None, :] - dpd[:, None], 999), axis=1)
    urgency = np.where(features["promises_pending"].to_numpy() > 0, 1.5, np.where(to_roll <= 5, 1.3, 1.0))
    value = features["overdue_amount"].fillna(0).to_numpy() * will * reach * urgency
    return pd.Series(np.round(pd.Series(value).rank(pct=True, method="average").to_numpy() * 100, 1),
                     index=features.index, name="priority")


def recommend(segments: pd.DataFrame, playbook: Playbook | None = None, lang: str = "en") -> pd.Series:
    """The recommended treatment: the playbook's tactics for type x stage x contactability.

    Vulnerable accounts get the care path and their vulnerability's tactic only: no
    type or stage tactic (a late-stage one is field visits and legal review, which need a
    review first for them). Lost or semi-lost accounts get the contactability tactic
    first. Computed once per distinct combination.
    """
    check_choice("lang", lang, ("zh", "en"))
    pb = playbook or load_playbook()
    cols = ["behaviour_type", "stage", "contactability", "vulnerable"]
    key = np.zeros(len(segments), dtype="int64")
    factors = []
    for c in cols:
        col = segments[c]
        if isinstance(col.dtype, pd.CategoricalDtype):  # its codes, a missing value as one more code
            uniq = np.append(np.asarray(col.cat.categories, dtype=object), np.nan)
            codes = col.cat.codes.to_numpy().astype("int64")
            codes[codes < 0] = len(uniq) - 1
        else:
            codes, uniq = pd.factorize(col.astype(object), use_na_sentinel=False)
        key = key * (len(uniq) + 1) + codes
        factors.append((codes, np.asarray(uniq, dtype=object)))
    first, inverse = unique_inverse(key)
    sep = "；" if lang == "zh" else "; "
    texts = []
    for i in first:
        bt, st, ct, vu = (str(u[c[i]]) if not pd.isna(u[c[i]]) else "nan" for c, u in factors)
        if vu not in ("none", "nan"):
            texts.append(sep.join([pb.text("briefing.care_path", lang),
                                   pb.dimension("vulnerable").category(vu).tactics[0](lang)]))
            continue
        parts = []
        if ct in ("semi_lost", "lost"):
            parts.append(pb.dimension("contactability").category(ct).tactics[0](lang))
        if bt != "nan":
            parts.append(pb.dimension("behaviour_type").category(bt).tactics[0](lang))
        if st != "nan":
            parts.append(pb.dimension("stage").category(st).tactics[0](lang))
        texts.append(sep.join(parts))
    cats, text_code = np.unique(np.array(texts, dtype=object), return_inverse=True)
    return pd.Series(pd.Categorical.from_codes(text_code.reshape(-1)[inverse.reshape(-1)], categories=list(cats)),
                     index=segments.index, name="recommended_treatment")


def _join_reasons(seg: pd.DataFrame, dims: list[str]) -> pd.Categorical:
    """``dim=rule;...`` per account, built once per distinct combination of rules."""
    key = np.zeros(len(seg), dtype="int64")
    parts = []
    for d in dims:
        col = seg[f"reason_{d}"]
        if isinstance(col.dtype, pd.CategoricalDtype) and not col.isna().any():
            # the same codes as factorizing the values (order of appearance), from the small int codes
            c, ucode = pd.factorize(col.cat.codes.to_numpy())
            u = np.asarray(col.cat.categories, dtype=object)[ucode]
        else:
            c, u = pd.factorize(col)
        key = key * (len(u) + 1) + c
        parts.append((c, np.array([f"{d}={x}" for x in u], dtype=object)))
    first, inverse = unique_inverse(key)
    text = [";".join(t) for t in zip(*(labels[c[first]] for c, labels in parts))]
    return pd.Categorical.from_codes(inverse.reshape(-1), categories=text)


@share_docs
def segment(portfolio: Portfolio | Prepared, as_of: str | pd.Timestamp | None = None, *, window_days: int = 90,
            lang: str = "en", playbook: Playbook | None = None) -> pd.DataFrame:
    """Segment every account of ``portfolio`` as of ``as_of``.

    Parameters
    ----------
    {portfolio}
    {as_of}
        May be omitted when ``portfolio`` is a prepared bundle.
    window_days : int
        Interactions and payments of the last ``window_days`` days feed the features.
    {lang}
        Here: the language of ``recommended_treatment``.
    {playbook}

    Returns
    -------
    DataFrame
        One row per account: ``account_id``, every dimension of the rules (stage,
        lifecycle, severity, contactability, ability, willingness, quadrant,
        behaviour_type, intent, risk_segment, occupation_group, life_stage, vulnerable,
        team), ``type_score``, ``runner_up``, ``runner_up_score`` and ``type_cues`` (the
        behavioural type's scorecard: see :func:`score_types` and :func:`playbook.reasons.explain_type`),
        ``status`` (open when the data has none), ``worked`` (False for accounts
        never to be worked: see :func:`is_worked`), ``priority`` (0 when not worked), ``recommended_treatment`` (in ``lang``), ``confidence`` (of
        the behavioural type), ``reasons`` (``dimension=rule_id`` pairs joined by ``;``)
        and per dimension ``reason_<d>`` and ``confidence_<d>``.
    """
    check_choice("lang", lang, ("zh", "en"))
    prep = prepared_for(portfolio, as_of, playbook, window_days)
    own_bundle = prep is not portfolio  # a bundle made here: its features are freed once read
    pb = prep.playbook
    portfolio = prep.portfolio
    feats = prep.features_for(check_positive_int("window_days", window_days))
    seg = apply_rules(feats, pb)
    status = feats["status"]
    status = status.array if isinstance(status.dtype, pd.StringDtype) else status.to_numpy()
    worked = is_worked(feats)
    priority = np.where(worked, priority_score(feats, seg).to_numpy(), 0.0)
    del feats
    if own_bundle:  # nothing else holds the features: the result is built without them in memory
        del prep
    dims = list(pb.rules)
    result = seg[dims].copy()
    result.insert(0, "account_id", portfolio.accounts["account_id"].array)
    result["status"] = status
    del status
    result["worked"] = worked
    result["priority"] = priority
    treatment = recommend(seg, pb, lang).array
    if not worked.all():
        treatment = _idle_treatment(treatment, worked, result["status"], pb, lang)
    result["recommended_treatment"] = treatment
    result["confidence"] = seg["confidence_behaviour_type"].to_numpy()
    if "score_behaviour_type" in seg:
        result["type_score"] = seg["score_behaviour_type"].to_numpy()
        result["runner_up"] = seg["runner_up_behaviour_type"].array
        result["runner_up_score"] = seg["runner_up_score_behaviour_type"].to_numpy()
        result["type_cues"] = seg["cues_behaviour_type"].array
    result["reasons"] = _join_reasons(seg, dims)
    for d in dims:
        result[f"reason_{d}"] = seg[f"reason_{d}"].array
        result[f"confidence_{d}"] = seg[f"confidence_{d}"].to_numpy()
    return result.reset_index(drop=True)


def _idle_treatment(treatment: pd.Categorical, worked: np.ndarray, status: pd.Series, pb: Playbook,
                    lang: str) -> pd.Categorical:
    """The treatment, with "not worked: <why>" for the accounts not worked, as a
    Categorical whose categories are the sorted texts used; built on codes, one text per
    distinct status."""
    head = pb.text("status.not_worked", lang)
    why = {st: pb.text(f"status.{st}", lang) for st in NOT_WORKED}
    idle = ~worked
    s_codes, s_uniq = pd.factorize(status.array[np.flatnonzero(idle)])  # no Python string per account
    nothing = pb.text("status.nothing_owed", lang)
    idle_labels = [head + ": " + (why[u] if isinstance(u, str) and u in why else nothing) for u in s_uniq]
    if (s_codes < 0).any():  # a missing status
        idle_labels.append(head + ": " + nothing)
        s_codes = np.where(s_codes < 0, len(idle_labels) - 1, s_codes)
    labels = np.array(list(treatment.categories) + idle_labels, dtype=object)
    code = treatment.codes.astype("int64")
    code[idle] = len(treatment.categories) + s_codes
    used = np.unique(code)
    cats, to_cat = np.unique(labels[used], return_inverse=True)
    return pd.Categorical.from_codes(to_cat.reshape(-1)[np.searchsorted(used, code)], categories=list(cats))
