"""Whether a strategy may be used under a pack, before anything is simulated or sent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import pandas as pd
from pydantic import ValidationError

from ..content import Pack, Playbook, Text, load_playbook
from ..errors import ArgumentError, ContentError
from ..strategy import Strategy, StrategyRules, claims, get_strategy, list_strategies
from .checks import taught_texts
from .lint import practice_citation, scan_prohibited
from .packs import bind

__all__ = ["strategy_verdict", "Verdict", "lint_content", "admissible_strategies", "finding"]

_LINTED = {"script": "话术", "sms_text": "短信文本"}  # the linted treatment fields, and their names in Chinese


def finding(rule: str, where: str, detail: Text | str, source: str) -> dict:
    """One problem found in a strategy or the content, as :class:`Verdict` and
    :func:`lint_content` list it.

    Parameters
    ----------
    rule : str
        The pack rule's id, or ``prohibited:<practice>``.
    where : str
        The place: ``rules[i] (when: ...)``, ``strategy`` or a content file and entry.
    detail : Text or str
        What is wrong, in both languages; a plain string (a check type that words its
        findings in one language) is used for both.
    source : str
        The legal source.

    Returns
    -------
    dict
        ``rule``, ``where``, ``detail`` (English), ``detail_zh`` (Chinese) and ``source``.
    """
    en, zh = (detail.en, detail.zh) if isinstance(detail, Text) else (detail, detail)
    return {"rule": rule, "where": where, "detail": en, "detail_zh": zh, "source": source}


@dataclass
class Verdict:
    """Whether a strategy may be used under a pack, and the rules it breaks.

    ``violations`` items have ``rule``, ``where``, ``detail`` (English), ``detail_zh``
    (Chinese) and ``source`` (see :func:`finding`).
    """

    pack: str
    admissible: bool
    violations: list[dict]

    def to_dict(self) -> dict:
        """The verdict as plain data."""
        return {"pack": self.pack, "admissible": self.admissible, "violations": self.violations}


def _rules_of(strategy: Strategy | StrategyRules | Mapping[str, Any]) -> StrategyRules:
    if isinstance(strategy, StrategyRules):
        return strategy
    if isinstance(strategy, Strategy):
        return StrategyRules(name=strategy.name, rules=strategy.rules)
    if not isinstance(strategy, Mapping):
        raise ArgumentError("strategy", type(strategy).__name__, "a Strategy, StrategyRules or a mapping")
    raw = {k: strategy[k] for k in ("name", "rules") if k in strategy}
    try:
        return StrategyRules.model_validate(raw)
    except ValidationError as exc:
        name = raw.get("name")
        label = f"strategy {name!r}" if isinstance(name, str) and name else "strategy"
        problems = []
        for e in exc.errors():
            loc = [str(x) for x in e["loc"]]
            cut = 2 if loc[:1] == ["rules"] and len(loc) > 1 else 0
            entry = f"rules[{loc[1]}]" if cut else "strategy"
            problems.append((label, entry, ".".join(loc[cut:]) or "-", e["msg"].removeprefix("Value error, ")))
        raise ContentError(problems) from None


def strategy_verdict(strategy: Strategy | StrategyRules | Mapping[str, Any], pack: str | Pack = "cn", *,
                     playbook: Playbook | None = None) -> Verdict:
    """Check a strategy's treatments against a pack before anything is simulated or sent.

    Parameters
    ----------
    strategy : Strategy, StrategyRules or mapping
        A mapping is ``{"name", "rules": [{"when": ..., "treatment": {...}}, ...]}``
        (other top-level keys, e.g. ``id``, are ignored), validated as
        :class:`~playbook.strategy.StrategyRules`; treatments have the fields of
        :class:`~playbook.strategy.Treatment`.
    pack : {"cn", "us", "uk"} or Pack
        The rule pack, possibly tightened with :func:`tighten`.
    playbook : Playbook, optional
        The content; defaults to :func:`playbook.load_playbook`.

    Returns
    -------
    Verdict
        Every problem names the rule and its legal source. Whatever the pack, a script or
        SMS text that uses a prohibited practice, and asking third parties to pay, are
        refused.

    Raises
    ------
    ContentError
        A mapping that is not a valid strategy, naming the entry and the field.
    """
    pb = playbook or load_playbook()
    checked = bind(pack, pb)
    rules = _rules_of(strategy)
    out: list[dict] = []

    def add(rule_id: str, source: str, where: str, detail: Text | str) -> None:
        out.append(finding(rule_id, where, detail, source))

    texts = pd.Series([getattr(r.treatment, f) for r in rules.rules for f in _LINTED], dtype=object)
    hits = scan_prohibited(texts, pb)
    by_pos = {pos: list(zip(g["practice"], g["marker"])) for pos, g in hits.groupby("pos", sort=True)}
    pressing = next((x for x in pb.prohibited if x.id == "pressing_relatives"), None)
    jurisdiction = checked.pack.id
    for i, item in enumerate(rules.rules):
        tr = item.treatment
        where = f"rules[{i}] (when: {item.when})"
        for j, (field_name, field_zh) in enumerate(_LINTED.items()):
            for k, marker in by_pos.get(i * len(_LINTED) + j, []):
                practice = pb.prohibited[k]
                add(f"prohibited:{practice.id}", practice_citation(practice, jurisdiction), where, Text(
                    en=f"{field_name} uses a prohibited practice ({practice.name.en}): \u201c{marker}\u201d. "
                       f"{practice.why_forbidden.en}",
                    zh=f"{field_zh}使用了禁止的做法（{practice.name.zh}）：\u201c{marker}\u201d。{practice.why_forbidden.zh}"))
        if tr.third_party is not None and tr.third_party.purpose != "locate":
            why = f" ({pressing.why_forbidden.en})" if pressing else ""
            why_zh = f"（{pressing.why_forbidden.zh}）" if pressing else ""
            add("prohibited:pressing_relatives", practice_citation(pressing, jurisdiction) if pressing else "", where,
                Text(en=f"third parties may only be asked for contact details, not to pay{why}",
                     zh=f"只能向第三方询问联系方式，不得要求其还款{why_zh}"))
        for b in checked.active:
            for detail in b.check.treatment_problems(tr, b.rule, b.params):
                add(b.rule.id, b.rule.source, where, detail)
    for b in checked.active:
        for detail in b.check.strategy_problems(rules, b.rule, b.params):
            add(b.rule.id, b.rule.source, "strategy", detail)
    return Verdict(checked.pack.id, not out, out)


def lint_content(pack: str | Pack = "cn", *, playbook: Playbook | None = None) -> list[dict]:
    """What in the playbook content itself breaks a pack: every taught text (tactics, openers,
    collector dialogue lines, cues) through the prohibited-practice scan, and each rule's
    :meth:`~playbook.compliance.CheckType.content_problems` (e.g. team targets, reminder
    tactics that need consent).

    Returns
    -------
    list of dict
        ``rule``, ``where``, ``detail`` (English), ``detail_zh`` (Chinese) and ``source``
        (the pack's own) (see :func:`finding`); empty when the content is lawful under the pack.
    """
    pb = playbook or load_playbook()
    checked = bind(pack, pb)
    jurisdiction = checked.pack.id
    out: list[dict] = []
    taught = taught_texts(pb)
    texts = pd.Series([t.zh + "\n" + t.en for _, t in taught], dtype=object)
    for hit in scan_prohibited(texts, pb).itertuples(index=False):
        practice = pb.prohibited[hit.practice]
        out.append(finding(f"prohibited:{practice.id}", taught[hit.pos][0], Text(
            en=f"teaches a prohibited practice ({practice.name.en}): \u201c{hit.marker}\u201d",
            zh=f"教授了禁止的做法（{practice.name.zh}）：\u201c{hit.marker}\u201d"), practice_citation(practice, jurisdiction)))
    for b in checked.active:
        for where, detail in b.check.content_problems(pb, b.rule, b.params):
            out.append(finding(b.rule.id, where, detail, b.rule.source))
    return out


def admissible_strategies(pack: str | Pack = "cn", *, playbook: Playbook | None = None) -> list[str]:
    """Ids of the shipped and registered strategies that claim ``pack`` (their ``packs``; none
    listed: every pack) and are admissible under it, in id order."""
    pb = playbook or load_playbook()
    pid = bind(pack, pb).pack.id
    out = []
    for sid in list_strategies():
        s = get_strategy(sid)
        if claims(s, pid) and strategy_verdict(s, pack, playbook=pb).admissible:
            out.append(sid)
    return out
