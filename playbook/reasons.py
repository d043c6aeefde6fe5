"""Why an account is in each segment, in words: the ``because`` text of the rule that fired.

Every segmentation rule (``rules/segmentation.yaml``) carries a bilingual ``because`` text
saying what it tested, with placeholders for the account's own values
(``"{promises_kept:.0f} of {promises_made:.0f} promises kept ({ptp_kept_rate:.0%})"``).
The placeholders were checked when the content was read: each names a feature or an
earlier dimension the rule may read, or ``currency``. Here they are filled in: a feature
with its value (a missing value reads "n/a"), a dimension with its category's name, the
currency with the playbook's (``costs.yaml``). The behavioural type scored by cues is
explained by :func:`playbook.segmentation.explain_type`; its gate rules by their
``because`` text like every other rule.
"""

from __future__ import annotations

import string
from typing import Any, Iterable

import numpy as np
import pandas as pd

from ._checks import check_choice
from .content import Playbook, load_playbook

__all__ = ["explain", "explain_many", "rule_text", "type_text", "feature_value", "currency_label"]

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


def _values(seg_row: pd.Series, feat_row: pd.Series | None) -> dict:
    out = {} if feat_row is None else dict(feat_row.items())
    out.update({k: v for k, v in seg_row.items()})
    return out


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
    lang : {"zh", "en"}
    playbook : Playbook, optional
    currency : str, optional
        The ISO code the amounts are in (``Portfolio.currency``); by default the playbook's.

    Returns
    -------
    dict
        ``{dimension: text}`` for every dimension with rules. The behavioural type decided
        by its scorecard reads as :func:`playbook.segmentation.explain_type` (the cues that
        fired, with values); every other reason is the ``because`` text of the rule that
        fired. Never a rule id, never the category's description.
    """
    check_choice("lang", lang, ("zh", "en"))
    pb = playbook or load_playbook()
    hit = segments.loc[segments["account_id"] == account_id]
    if hit.empty:
        from .errors import UnknownKeyError

        raise UnknownKeyError("account", account_id, segments["account_id"].head(20).tolist())
    row = hit.iloc[0]
    f = None
    if features is not None and account_id in features.index:
        f = features.loc[account_id]
    values = _values(row, f)
    out = {}
    for did in pb.rules:
        rid = row.get(f"reason_{did}")
        if rid is None or (isinstance(rid, float) and np.isnan(rid)):
            continue
        text = rule_text(did, str(rid), values, lang, pb, currency=currency)
        if did == "behaviour_type":
            name = pb.label(did, str(row[did]), lang)
            if text:
                text = f"{name}{'：' if lang == 'zh' else ': '}{text}"
            else:
                text = type_text(hit.iloc[:1], features.loc[[account_id]] if f is not None else None,
                                 account_id, lang, pb, currency=currency)
        out[did] = text
    return out


def explain_many(segments: pd.DataFrame, features: pd.DataFrame | None, lang: str = "en",
                 playbook: Playbook | None = None, dimensions: Iterable[str] | None = None, *,
                 currency: str | None = None) -> pd.DataFrame:
    """The ``because`` texts of many accounts at once: one column per dimension, indexed
    like ``segments``. Each rule's template is read once and filled per account; an
    account whose reason is not a rule with a ``because`` text (a scored behavioural
    type) gets ``""`` (use :func:`explain` or :func:`playbook.segmentation.explain_type`).
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
    if unit in ("count", "days", "years", "bucket"):
        return f"{v:,.0f}"
    if unit == "ratio":
        return f"{v:.2f}"
    return f"{v:g}"


def type_text(segments: pd.DataFrame, features: pd.DataFrame | None, account_id: str, lang: str = "en",
              playbook: Playbook | None = None, *, most: int | None = None, currency: str | None = None) -> str:
    """Why the account has its behavioural type, in words: a gate rule's ``because``
    text, or the cues that fired (:func:`playbook.segmentation.explain_type`) with each
    value under the feature's name (never its id). ``most``: name only that many cues,
    the heaviest, and say how many more fired (a worklist row stays short)."""
    from .segmentation import explain_type

    pb = playbook or load_playbook()
    row = segments.loc[segments["account_id"] == account_id].iloc[0]
    f = features.loc[account_id] if features is not None and account_id in features.index else None
    colon, sep = ("：", "；") if lang == "zh" else (": ", "; ")
    name = pb.label("behaviour_type", str(row["behaviour_type"]), lang)
    gate = rule_text("behaviour_type", str(row.get("reason_behaviour_type")), _values(row, f), lang, pb,
                     currency=currency)
    if gate:
        return f"{name}{colon}{gate}"
    e = explain_type(segments.loc[segments["account_id"] == account_id].iloc[:1], features, account_id, lang, pb)
    card = pb.scorecards.get("behaviour_type")
    if e["cues"]:
        open_, close, comma = ("（", "）", "，") if lang == "zh" else (" (", ")", ", ")
        parts = []
        shown = sorted(e["cues"], key=lambda c: -c.get("weight", 0))[:most] if most else e["cues"]
        for c in shown:
            vals = comma.join(f"{pb.features[k].name(lang) if k in pb.features else k} {feature_value(k, v, lang, pb, currency=currency)}"
                              for k, v in c["values"].items() if not _nil(v))
            parts.append(f"{c['text']}{open_}{vals}{close}" if vals else c["text"])
        body = sep.join(parts)
        if len(shown) < len(e["cues"]):
            body += sep + pb.text("explorer.more_cues", lang).format(n=len(e["cues"]) - len(shown))
    else:
        body = card.note(lang) if card is not None else ""
    text = f"{name}{colon}{body}" if body else name
    if e.get("runner_up"):
        text += f"{sep}{pb.text('explorer.runner_up', lang)}{colon}{e['runner_up_name']}"
    return text


def _nil(v: Any) -> bool:
    """A value that says nothing about why a cue fired: missing, zero or empty."""
    v = _plain(v)
    return v is None or v == "" or (isinstance(v, (int, float)) and (v == 0 or v != v))
