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
from .content import Playbook, load_playbook
from .portfolio import Portfolio
from .prepared import Prepared, prepared_for
from .schema import NOT_WORKED

__all__ = ["segment", "apply_rules", "priority_score", "recommend", "is_worked"]

_DAYS_TO_ROLL = np.array([30, 60, 90])


def apply_rules(features: pd.DataFrame, playbook: Playbook | None = None) -> pd.DataFrame:
    """Assign every rule-driven dimension; returns categories, reasons and confidences.

    Returns a frame indexed like ``features`` with, per dimension ``d``, the columns
    ``d``, ``reason_d`` (the id of the rule that fired) and ``confidence_d``. An account no
    rule matches gets a missing category and the reason ``no_rule_matched``.
    """
    pb = playbook or load_playbook()
    columns = {c: features[c] for c in features.columns}  # the caller's frame is never written to
    out = {}
    n = len(features)
    for dim, rules in pb.rules.items():
        cats = list(dict.fromkeys(r.then for r in rules))
        cat = np.full(n, -1, dtype="int16")
        reason = np.full(n, len(rules), dtype="int16")
        conf = np.zeros(n)
        open_ = np.ones(n, dtype=bool)
        for i, rule in enumerate(rules):
            if not open_.any():
                break
            hit = rule.expression.mask(columns, n) & open_
            cat[hit], reason[hit], conf[hit] = cats.index(rule.then), i, rule.confidence
            open_ &= ~hit
        columns[dim] = pd.Series(pd.Categorical.from_codes(cat, categories=cats), index=features.index)
        out[dim] = columns[dim]
        out[f"reason_{dim}"] = pd.Categorical.from_codes(reason, categories=[r.id for r in rules] + ["no_rule_matched"])
        out[f"confidence_{dim}"] = conf
    return pd.DataFrame(out, index=features.index)


def is_worked(features: pd.DataFrame) -> np.ndarray:
    """Whether each account belongs in a queue: its status is not one of
    :data:`playbook.schema.NOT_WORKED` (paid off, closed, settled, sold, bankrupt,
    deceased) and something is owed (balance or overdue amount above 0)."""
    owed = (features["balance"].fillna(0).to_numpy() > 0) | (features["overdue_amount"].fillna(0).to_numpy() > 0)
    return ~np.isin(features["status"].astype(str).to_numpy(), NOT_WORKED) & owed


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

    Vulnerable accounts get the care path first; lost or semi-lost ones get the
    contactability tactic first. Computed once per distinct combination.
    """
    check_choice("lang", lang, ("zh", "en"))
    pb = playbook or load_playbook()
    cols = ["behaviour_type", "stage", "contactability", "vulnerable"]
    key = np.zeros(len(segments), dtype="int64")
    factors = []
    for c in cols:
        codes, uniq = pd.factorize(segments[c].astype(object), use_na_sentinel=False)
        key = key * (len(uniq) + 1) + codes
        factors.append((codes, np.asarray(uniq, dtype=object)))
    combo, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    sep = "；" if lang == "zh" else "; "
    texts = []
    for i in first:
        bt, st, ct, vu = (str(u[c[i]]) if not pd.isna(u[c[i]]) else "nan" for c, u in factors)
        parts = []
        if vu not in ("none", "nan"):
            parts.append(pb.dimension("vulnerable").category(vu).tactics[0](lang))
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
        c, u = pd.factorize(seg[f"reason_{d}"])
        key = key * (len(u) + 1) + c
        parts.append((c, np.array([f"{d}={x}" for x in u], dtype=object)))
    combo, first, inverse = np.unique(key, return_index=True, return_inverse=True)
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
        team), ``status`` (open when the data has none), ``worked`` (False for accounts
        never to be worked: see :func:`is_worked`), ``priority`` (0 when not worked), ``recommended_treatment`` (in ``lang``), ``confidence`` (of
        the behavioural type), ``reasons`` (``dimension=rule_id`` pairs joined by ``;``)
        and per dimension ``reason_<d>`` and ``confidence_<d>``.
    """
    check_choice("lang", lang, ("zh", "en"))
    prep = prepared_for(portfolio, as_of, playbook, window_days)
    pb = prep.playbook
    portfolio = prep.portfolio
    feats = prep.features_for(check_positive_int("window_days", window_days))
    seg = apply_rules(feats, pb)
    dims = list(pb.rules)
    result = seg[dims].copy()
    result.insert(0, "account_id", portfolio.accounts["account_id"].array)
    result["status"] = feats["status"].to_numpy()
    result["worked"] = is_worked(feats)
    result["priority"] = np.where(result["worked"], priority_score(feats, seg).to_numpy(), 0.0)
    treatment = recommend(seg, pb, lang)
    if not result["worked"].all():
        head = pb.text("status.not_worked", lang)
        why = {st: pb.text(f"status.{st}", lang) for st in NOT_WORKED}
        idle_text = (head + ": " + pd.Series(result["status"]).map(why)
                     .fillna(pb.text("status.nothing_owed", lang))).to_numpy()
        treatment = pd.Series(np.where(result["worked"], treatment.astype(object).to_numpy(), idle_text),
                              dtype="category")
    result["recommended_treatment"] = treatment.array
    result["confidence"] = seg["confidence_behaviour_type"].to_numpy()
    result["reasons"] = _join_reasons(seg, dims)
    for d in dims:
        result[f"reason_{d}"] = seg[f"reason_{d}"].array
        result[f"confidence_{d}"] = seg[f"confidence_{d}"].to_numpy()
    return result.reset_index(drop=True)
