"""Whether a strategy may be used under a pack, before anything is simulated or sent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import pandas as pd
from pydantic import ValidationError

from ..content import Pack, Playbook, load_playbook
from ..errors import ArgumentError, ContentError
from ..strategy import Strategy, StrategyRules
from .lint import scan_prohibited
from .packs import bind

__all__ = ["strategy_verdict", "Verdict"]

_LINTED = ("script", "sms_text")


@dataclass
class Verdict:
    """Whether a strategy may be used under a pack, and the rules it breaks.

    ``violations`` items have ``rule``, ``where``, ``detail`` and ``source``.
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

    def add(rule_id: str, source: str, where: str, detail: str) -> None:
        out.append({"rule": rule_id, "where": where, "detail": detail, "source": source})

    texts = pd.Series([getattr(r.treatment, f) for r in rules.rules for f in _LINTED], dtype=object)
    hits = scan_prohibited(texts, pb)
    by_pos = {pos: list(zip(g["practice"], g["marker"])) for pos, g in hits.groupby("pos", sort=True)}
    pressing = next((x for x in pb.prohibited if x.id == "pressing_relatives"), None)
    for i, item in enumerate(rules.rules):
        tr = item.treatment
        where = f"rules[{i}] (when: {item.when})"
        for j, field_name in enumerate(_LINTED):
            for k, marker in by_pos.get(i * len(_LINTED) + j, []):
                practice = pb.prohibited[k]
                add(f"prohibited:{practice.id}", "; ".join(s.citation for s in practice.sources), where,
                    f"{field_name} uses a prohibited practice ({practice.name.en}): \u201c{marker}\u201d. "
                    f"{practice.why_forbidden.en}")
        if tr.third_party is not None and tr.third_party.purpose != "locate":
            why = f" ({pressing.why_forbidden.en})" if pressing else ""
            add("prohibited:pressing_relatives", "; ".join(s.citation for s in pressing.sources) if pressing else "", where,
                f"third parties may only be asked for contact details, not to pay{why}")
        for b in checked.active:
            for detail in b.check.treatment_problems(tr, b.rule, b.params):
                add(b.rule.id, b.rule.source, where, detail)
    for b in checked.active:
        for detail in b.check.strategy_problems(rules, b.rule, b.params):
            add(b.rule.id, b.rule.source, "strategy", detail)
    return Verdict(checked.pack.id, not out, out)
