"""Strategies as data: ordered ``{when, treatment}`` rules over an account's segments.

Strategies ship in ``playbook/content/strategies/`` (a champion and challengers); analysts
add their own YAML files. :func:`get_strategy` looks one up by id or path; lookup errors
list the known ids.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .content import Text, default_content_dir
from .errors import ContentError, UnknownKeyError

__all__ = ["Strategy", "Treatment", "get_strategy", "list_strategies", "register_strategy", "assign"]


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Timing(_M):
    payday_aligned: bool = False
    mornings: bool = False
    sms_first: bool = False


class Offer(_M):
    type: Literal["none", "instalments", "settlement", "interest_relief"] = "none"
    months: int | None = Field(default=None, ge=2, le=60)
    discount: float | None = Field(default=None, gt=0, lt=1)


class Escalation(_M):
    after_days: int = Field(default=0, ge=0)
    action: Literal["none", "field_visit", "legal", "agency"] = "none"


class ThirdParty(_M):
    purpose: Literal["locate", "pay"] = "locate"
    only_when_lost: bool = True


class Treatment(_M):
    """What an account receives: channels, intensity, timing, offer, escalation, script."""

    channels: list[Literal["call", "sms", "email", "letter", "visit", "app", "ivr"]] = Field(min_length=1)
    attempts_per_week: float = Field(default=0, ge=0)
    attempts_per_day: int = Field(default=0, ge=0)
    sms_per_week: float = Field(default=0, ge=0)
    call_window: tuple[str, str] | None = None
    pause_after_contact_days: int = Field(default=0, ge=0)
    timing: Timing = Timing()
    offer: Offer = Offer()
    escalation: Escalation = Escalation()
    third_party: ThirdParty | None = None
    visit_staff: int = Field(default=0, ge=0)
    script: str = ""
    sms_text: str = ""


class StrategyRule(_M):
    when: str = "True"
    treatment: Treatment


class Strategy(_M):
    """A named, ordered list of rules; the first rule whose ``when`` holds treats the account."""

    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    name: Text
    description: Text
    rules: list[StrategyRule] = Field(min_length=1)


class _File(_M):
    strategy: Strategy


_EXTRA: dict[str, Strategy] = {}


def register_strategy(strategy: Strategy) -> Strategy:
    """Make ``strategy`` available to :func:`get_strategy` by its id (this process only)."""
    _EXTRA[strategy.id] = strategy
    return strategy


def _read(path: Path) -> Strategy:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ContentError([(str(path), "(file)", "-", f"cannot read strategy: {exc}")]) from None
    try:
        return _File.model_validate(raw).strategy
    except ValidationError as exc:
        raise ContentError([(str(path), "strategy", ".".join(map(str, e["loc"][1:])) or "-", e["msg"])
                            for e in exc.errors()]) from None


def _shipped() -> dict[str, Path]:
    return {p.stem: p for p in sorted((default_content_dir() / "strategies").glob("*.yaml"))}


def list_strategies() -> list[str]:
    """Ids of the shipped and registered strategies."""
    return sorted(set(_shipped()) | set(_EXTRA))


def get_strategy(key: str | Path | Strategy) -> Strategy:
    """A strategy by id (shipped or registered) or by the path of a YAML file."""
    if isinstance(key, Strategy):
        return key
    if key in _EXTRA:
        return _EXTRA[key]
    shipped = _shipped()
    if str(key) in shipped:
        return _read(shipped[str(key)])
    p = Path(key)
    if p.suffix.lower() in (".yaml", ".yml") and p.is_file():
        return _read(p)
    raise UnknownKeyError("strategy", str(key), list_strategies())


def assign(strategy: Strategy, segments: pd.DataFrame) -> np.ndarray:
    """Index of the rule that treats each account (-1 when none applies)."""
    from .content import _expression_names

    used = set().union(*(_expression_names(r.when)[0] for r in strategy.rules))
    missing = sorted(used - set(segments.columns))
    if missing:
        raise UnknownKeyError("segment column", missing[0], list(segments.columns))
    frame = pd.DataFrame({c: (segments[c].astype(str) if isinstance(segments[c].dtype, pd.CategoricalDtype)
                              else segments[c]) for c in sorted(used)}, index=segments.index)
    out = np.full(len(frame), -1, dtype="int64")
    open_ = np.ones(len(frame), dtype=bool)
    for i, rule in enumerate(strategy.rules):
        hit = frame.eval(rule.when, engine="python") if len(frame.columns) else eval(rule.when, {}, {})  # noqa: S307
        hit = np.full(len(frame), bool(hit)) if np.isscalar(hit) else np.asarray(pd.Series(hit).fillna(False), dtype=bool)
        out[hit & open_] = i
        open_ &= ~hit
    return out
