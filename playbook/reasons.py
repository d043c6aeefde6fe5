"""Why an account is in each segment, in words: the ``because`` text of the rule that fired.

Every segmentation rule (``rules/segmentation.yaml``) carries a bilingual ``because`` text
saying what it tested, with placeholders for the account's own values
(``"{promises_kept:.0f} of {promises_made:.0f} promises kept ({ptp_kept_rate:.0%})"``).
The placeholders were checked when the content was read: each names a feature or an
earlier dimension the rule may read, or ``currency``. Here they are filled in: a feature
with its value (a missing value reads "n/a"), a dimension with its category's name, the
currency with the playbook's (``costs.yaml``). The behavioural type scored by cues is
explained by :func:`type_text` (and :func:`explain_type`, which
words it the same way): the cues that fired, strongest first, each with the values its
``show`` list names (:func:`cue_values`), then the counter-evidence that applied; its gate
rules by their ``because`` text like every other rule.
"""

from __future__ import annotations

import string
from typing import Any, Iterable

import numpy as np
import pandas as pd

from ._checks import check_choice
from ._docstrings import share_docs
from .formatting import punctuation
from .content import Playbook, load_playbook

__all__ = ["explain", "explain_many", "explain_type", "rule_text", "type_text", "cue_values", "named_values", "feature_value",
           "currency_label"]

_MISSING = {"zh": "未知", "en": "n/a"}


class _Fill(string.Formatter):
    """Formats a ``because`` template; a missing value reads n/a instead of failing."""

    def __init__(self, lang: str) -> None:
        super().__init__()
        self.lang = lang

    def format_field(self, value: Any, format_spec: str) -> str:
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA or value is pd.NaT:
            return _MISSING[self.lang]
        if isinstance(value, str):
            return value
        try:
            return format(value, format_spec)
        except (TypeError, ValueError):
            return str(value)


def currency_label(pb: Playbook, lang: str, code: str | None = None) -> str:
    """The currency as a person reads it: ``explorer.currency_<code>`` of ``ui.yaml`` when
    there is one (``元``), else the code (``CNY``)."""
    code = code or pb.currency
    key = f"explorer.currency_{code}"
    return pb.text(key, lang) if key in pb.labels else code


def _rule_index(pb: Playbook) -> dict[str, dict[str, Any]]:
    return {did: {r.id: r for r in rules} for did, rules in pb.rules.items()}


def rule_text(dimension: str, rule_id: str, values: dict, lang: str, playbook: Playbook | None = None, *,
              currency: str | None = None) -> str:
    """The ``because`` text of rule ``rule_id`` of ``dimension`` filled with ``values``.

    ``values`` maps feature and dimension names to the account's values (dimension values
    are category ids; they are shown by name). Returns ``""`` when the rule has no
    ``because`` text (for instance a scored behavioural type, not a rule). ``currency``:
    the ISO code the portfolio's amounts are in (``Portfolio.currency``); by default the
    playbook's (``costs.yaml``).
    """
    pb = playbook or load_playbook()
    rule = _rule_index(pb).get(dimension, {}).get(str(rule_id))
    if rule is None or rule.because is None:
        return ""
    fill = _Fill(lang)
    shown = {}
    for _, name, _, _ in string.Formatter().parse(rule.because(lang)):
        if name is None:
            continue
        if name == "currency":
            shown[name] = currency_label(pb, lang, currency)
        elif name in pb.dimensions and name in values:
            v = values[name]
            try:
                shown[name] = pb.label(name, str(v), lang)
            except Exception:  # an unknown category: show it as given  # noqa: BLE001
                shown[name] = str(v)
        else:
            v = values.get(name)
            shown[name] = v.item() if isinstance(v, np.generic) else v
    return fill.format(rule.because(lang), **shown)


def _account(segments: pd.DataFrame, features: pd.DataFrame | None, account_id: str) -> tuple:
    """The account's segments (one-row frame), its segment row and its feature row (None
    without features); an unknown account is an UnknownKeyError naming some that exist."""
    hit = segments.loc[segments["account_id"] == account_id]
    if hit.empty:
        from .errors import UnknownKeyError

        raise UnknownKeyError("account", account_id, segments["account_id"].head(20).tolist())
    f = features.loc[account_id] if features is not None and account_id in features.index else None
    return hit.iloc[:1], hit.iloc[0], f


def _values(seg_row: pd.Series, feat_row: pd.Series | None) -> dict:
    out = {} if feat_row is None else dict(feat_row.items())
    out.update({k: v for k, v in seg_row.items()})
    return out


@share_docs
def explain(segments: pd.DataFrame, features: pd.DataFrame | None, account_id: str, lang: str = "en",
            playbook: Playbook | None = None, *, currency: str | None = None) -> dict[str, str]:
    """Why one account has each of its segments, in ``lang``.

    Parameters
    ----------
    segments : DataFrame
        :func:`playbook.segment` output (with ``reason_<dimension>`` rule ids).
    features : DataFrame or None
        The features the segments came from, indexed by account id; without them the
        values read "n/a".
    account_id : str
    {lang}
    {playbook}
    {currency}

    Returns
    -------
    dict
        ``{dimension: text}`` for every dimension with rules. The behavioural type decided
        by its scorecard reads as :func:`explain_type` (the cues that
        fired, with values); every other reason is the ``because`` text of the rule that
        fired. Never a rule id, never the category's description.
    """
    check_choice("lang", lang, ("zh", "en"))
    pb = playbook or load_playbook()
    hit, row, f = _account(segments, features, account_id)
    values = _values(row, f)
    out = {}
    for did in pb.rules:
        rid = row.get(f"reason_{did}")
        if rid is None or (isinstance(rid, float) and np.isnan(rid)):
            continue
        if did == "behaviour_type":  # the type's name, then its gate rule or its cues (type_text)
            out[did] = type_text(hit, features.loc[[account_id]] if f is not None else None, account_id, lang, pb,
                                 currency=currency)
        else:
            out[did] = rule_text(did, str(rid), values, lang, pb, currency=currency)
    return out


def explain_many(segments: pd.DataFrame, features: pd.DataFrame | None, lang: str = "en",
                 playbook: Playbook | None = None, dimensions: Iterable[str] | None = None, *,
                 currency: str | None = None) -> pd.DataFrame:
    """The ``because`` texts of many accounts at once: one column per dimension, indexed
    like ``segments``. Each rule's template is read once and filled per account; an
    account whose reason is not a rule with a ``because`` text (a scored behavioural
    type) gets ``""`` (use :func:`explain` or :func:`explain_type`).
    ``currency``: as in :func:`explain`."""
    check_choice("lang", lang, ("zh", "en"))
    pb = playbook or load_playbook()
    dims = list(dimensions) if dimensions is not None else list(pb.rules)
    feats = None
    if features is not None:
        feats = features.reindex(segments["account_id"].to_numpy())
    rules = _rule_index(pb)
    fill = _Fill(lang)
    out = pd.DataFrame(index=segments.index)
    for did in dims:
        col = np.full(len(segments), "", dtype=object)
        rids = segments[f"reason_{did}"].astype(str).to_numpy()
        for rid in pd.unique(rids):
            rule = rules.get(did, {}).get(rid)
            if rule is None or rule.because is None:
                continue
            template = rule.because(lang)
            pos = np.flatnonzero(rids == rid)
            cols = {}
            for _, name, _, _ in string.Formatter().parse(template):
                if name is None or name in cols:
                    continue
                if name == "currency":
                    cols[name] = np.full(len(pos), currency_label(pb, lang, currency), dtype=object)
                elif name in pb.dimensions and name in segments:
                    names = {c: pb.label(name, c, lang) for c in pb.dimension(name).ids}
                    raw = segments[name].astype(str).to_numpy()[pos]
                    cols[name] = np.array([names.get(v, v) for v in raw], dtype=object)
                elif feats is not None and name in feats:
                    cols[name] = feats[name].to_numpy()[pos]
                elif name in segments:
                    cols[name] = segments[name].to_numpy()[pos]
                else:
                    cols[name] = np.full(len(pos), None, dtype=object)
            keys = list(cols)
            for j, p in enumerate(pos):
                col[p] = fill.format(template, **{k: _plain(cols[k][j]) for k in keys})
        out[did] = col
    return out


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


# text features whose values are the categories of a dimension (shown by name)
_CODED = {"occupation": "occupation_group", "vulnerable_reason": "vulnerable"}


def feature_value(name: str, value: Any, lang: str, playbook: Playbook | None = None, *,
                  currency: str | None = None) -> str:
    """A feature's value as a person reads it, by its unit (``features.yaml``): shares as
    percentages, amounts with the currency (``currency``, by default the playbook's),
    counts and days as whole numbers."""
    pb = playbook or load_playbook()
    v = _plain(value)
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return _MISSING[lang]
    if isinstance(v, bool):
        return pb.text("explorer.answer_yes" if v else "explorer.answer_no", lang)
    if isinstance(v, str):
        did = _CODED.get(name)
        if did in pb.dimensions and v in pb.dimension(did).ids:
            return pb.label(did, v, lang)
        return v.replace("_", " ")
    unit = pb.features[name].unit if name in pb.features else ""
    if unit == "share":
        return f"{v:.0%}"
    if unit == "currency":
        return f"{v:,.0f} {currency_label(pb, lang, currency)}"
    if unit == "ref_currency":  # converted into the currency the rules are written in
        return f"{v:,.0f} {currency_label(pb, lang, pb.settings.rule_currency)}"
    if unit == "bucket":  # a bucket code (0 current ... 3 M3+): the bucket by its name
        from .schema import BUCKETS

        code = int(v)
        if 0 <= code < len(BUCKETS) and "stage" in pb.dimensions and BUCKETS[code] in pb.dimension("stage").ids:
            return pb.label("stage", BUCKETS[code], lang)
        return f"{v:,.0f}"
    if unit in ("count", "days", "years"):
        return f"{v:,.0f}"
    if unit == "ratio":
        return f"{v:.2f}"
    return f"{v:g}"


def _missing(v: Any) -> bool:
    v = _plain(v)
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v)


def cue_values(cue: Any, values: pd.Series | dict | None, playbook: Playbook | None = None, *,
               currency: str | None = None) -> dict:
    """The account's values shown with a cue: ``{feature: value}`` in the order to show them.

    By the cue's ``show`` list (``rules/segmentation.yaml``): a listed feature is shown even
    when zero (the key fact of "not paying"), one marked ``?`` only when non-zero, a missing
    value never. A cue without ``show`` lists the non-zero values of every feature its
    evidence reads. An amount converted into the rules' currency is left out beside the
    same amount when the book's currency (``currency``, by default the playbook's) is the
    rules' currency: it would say the same number twice.
    """
    pb = playbook or load_playbook()
    if values is None:
        return {}
    get = values.get if isinstance(values, dict) else (lambda k: values[k] if k in values.index else None)
    out: dict[str, Any] = {}
    if cue.show is None:
        for name in sorted(cue.expression.names):
            v = get(name)
            if name in pb.features and not _nil(v):
                out[name] = _plain(v)
        return out
    for name, zero in cue.shown:
        v = get(name)
        if _missing(v) or (not zero and _nil(v)):
            continue
        out[name] = _plain(v)
    if (currency or pb.currency) == pb.settings.rule_currency:
        amounts = [v for k, v in out.items() if k in pb.features and pb.features[k].unit == "currency"]
        for k in [k for k in out if k in pb.features and pb.features[k].unit == "ref_currency"]:
            if out[k] in amounts:
                del out[k]
    return out


def _evidence(cue: Any, frame: pd.DataFrame) -> float:
    """The cue's evidence for the one account in ``frame``, as the scorecard counts it."""
    from .segmentation import clip_evidence

    return float(clip_evidence(cue.expression.values(frame)).reshape(-1)[0])


@share_docs
def explain_type(segments: pd.DataFrame, features: pd.DataFrame | None, account_id: str, lang: str = "en",
                 playbook: Playbook | None = None, *, currency: str | None = None, most: int | None = None) -> dict:
    """Why an account has its behavioural type: the cues that fired, with its values.

    Parameters
    ----------
    segments : DataFrame
        :func:`playbook.segment` output.
    features : DataFrame or None
        The features the segments came from (indexed by account id); without them the
        cues are named without values.
    account_id : str
    {lang}
    {playbook}
    {currency}
    most : int, optional
        The text names only that many supporting cues, the strongest, and counts the rest.

    Returns
    -------
    dict
        ``type``, ``type_name``, ``confidence``, ``score``, ``runner_up``,
        ``runner_up_name``, ``runner_up_score``; ``cues``: the cues that fired, strongest
        first (weight x the account's evidence), each a dict of ``id``, ``text``, ``seed``,
        ``weight``, ``evidence`` (0-1), ``strength`` (weight x evidence) and ``values`` (``{feature: value}``: the values the cue's
        ``show`` list names); ``against``: the counter-evidence cues of the type that
        applied (negative contributions, which the ``type_cues`` column leaves out),
        strongest first; ``gate``: the ``because`` text of the gate rule that decided the
        type (``""`` for a scored type); and ``text``: one line in ``lang``, worded as
        :func:`type_text` (feature names, formatted values, the gate
        rule's ``because`` text for a gate type).
    """
    check_choice("lang", lang, ("zh", "en"))
    pb = playbook or load_playbook()
    _, row, f = _account(segments, features, account_id)
    bt = str(row["behaviour_type"])
    dim = pb.dimension("behaviour_type")
    card = pb.scorecards.get("behaviour_type")
    fired = [x for x in str(row.get("type_cues", "") or "").split(";") if x and x != "nan"]
    own = list(card.types.get(bt, [])) if card is not None else []
    by_id = {c.id: c for cues in (card.types.values() if card else []) for c in cues}
    evidence: dict[str, float] = {}
    if f is not None and own:
        frame = features.loc[[account_id]].copy()
        for did in pb.rules:  # evidence may read dimensions assigned before the type
            if did in row.index and did not in frame:
                frame[did] = [row[did]]
        evidence = {c.id: _evidence(c, frame) for c in own}
    strength = {cid: by_id[cid].weight * v for cid, v in evidence.items()}

    def entry(cue: Any) -> dict:
        return {"id": cue.id, "text": cue.text(lang), "seed": cue.seed, "weight": cue.weight,
                "evidence": evidence.get(cue.id, np.nan), "strength": strength.get(cue.id, np.nan),
                "values": cue_values(cue, f, pb, currency=currency)}

    # strongest first, rounded as the scores are (a tie, or features without, in the scorecard's order)
    order = {cid: i for i, cid in enumerate(fired)}
    cues = sorted((entry(by_id[c]) for c in fired if c in by_id),
                  key=lambda c: (-round(c["strength"], 3) if c["strength"] == c["strength"] else 0, order[c["id"]]))
    against = sorted((entry(c) for c in own if c.weight < 0 and strength.get(c.id, 0) < 0),
                     key=lambda c: c["strength"])
    ru = row.get("runner_up")
    ru = None if ru is None or pd.isna(ru) else str(ru)
    gate = rule_text("behaviour_type", str(row.get("reason_behaviour_type")), _values(row, f), lang, pb,
                     currency=currency)
    e = {"type": bt, "type_name": dim.category(bt).name(lang), "confidence": float(row["confidence"]),
         "score": float(row.get("type_score", np.nan)), "runner_up": ru,
         "runner_up_name": dim.category(ru).name(lang) if ru else None,
         "runner_up_score": float(row.get("runner_up_score", np.nan)), "cues": cues, "against": against,
         "gate": gate}
    e["text"] = _type_line(e, pb, lang, currency=currency, most=most)
    return e


def named_values(values: dict, lang: str, playbook: Playbook | None = None, *,
                 currency: str | None = None) -> list[tuple[str, str]]:
    """A cue's ``values`` (:func:`cue_values`) as a person reads them: ``(feature name,
    formatted value)`` pairs, in order."""
    pb = playbook or load_playbook()
    return [(pb.features[k].name(lang) if k in pb.features else k, feature_value(k, v, lang, pb, currency=currency))
            for k, v in values.items()]


def _cue_line(c: dict, pb: Playbook, lang: str, currency: str | None) -> str:
    p = punctuation(lang)
    vals = p.comma.join(f"{n} {v}" for n, v in named_values(c["values"], lang, pb, currency=currency))
    return f"{c['text']}{p.bracket(vals)}" if vals else c["text"]


def _type_line(e: dict, pb: Playbook, lang: str, *, currency: str | None = None, most: int | None = None) -> str:
    p = punctuation(lang)
    colon, sep = p.colon, p.semicolon
    if e["gate"]:
        return f"{e['type_name']}{colon}{e['gate']}"
    card = pb.scorecards.get("behaviour_type")
    if e["cues"]:
        shown = e["cues"][:most] if most else e["cues"]
        body = sep.join(_cue_line(c, pb, lang, currency) for c in shown)
        rest = len(e["cues"]) - len(shown)
        if rest:
            key = "explorer.more_cues_one" if rest == 1 and "explorer.more_cues_one" in pb.labels else "explorer.more_cues"
            body += sep + pb.text(key, lang).format(n=rest)
    else:
        body = card.note(lang) if card is not None else ""
    text = f"{e['type_name']}{colon}{body}" if body else e["type_name"]
    if e["against"]:
        text += sep + pb.text("explorer.against", lang) + colon + sep.join(_cue_line(c, pb, lang, currency)
                                                                          for c in e["against"])
    if e.get("runner_up"):
        text += f"{sep}{pb.text('explorer.runner_up', lang)}{colon}{e['runner_up_name']}"
    return text


def type_text(segments: pd.DataFrame, features: pd.DataFrame | None, account_id: str, lang: str = "en",
              playbook: Playbook | None = None, *, most: int | None = None, currency: str | None = None) -> str:
    """Why the account has its behavioural type, in words: a gate rule's ``because`` text,
    or the cues that fired, strongest first (weight x the account's evidence), each with
    the values its ``show`` list names under the feature's name (never its id); then the
    counter-evidence that applied ("Against: ..."), then the runner-up. ``most``: name only
    that many supporting cues, the strongest, and say how many more fired (a worklist row
    stays short); counter-evidence is always named."""
    return explain_type(segments, features, account_id, lang, playbook, currency=currency, most=most)["text"]


def _nil(v: Any) -> bool:
    """A value that says nothing about why a cue fired: missing, zero or empty."""
    v = _plain(v)
    return v is None or v == "" or (isinstance(v, (int, float)) and (v == 0 or v != v))
