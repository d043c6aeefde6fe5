"""Strategies as data: ordered ``{when, treatment}`` rules over an account's segments.

Strategies ship in ``playbook/content/strategies/`` (a champion and challengers); analysts
add their own YAML files. :func:`get_strategy` looks one up by id or path; lookup errors
list the known ids.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .content import Text, default_content_dir
from .errors import ContentError, UnknownKeyError
from .expressions import Expression, ExpressionError, parse

__all__ = ["Strategy", "StrategyRules", "Treatment", "Offer", "Forbearance", "Reminder", "ThirdParty", "get_strategy",
           "list_strategies", "register_strategy", "assign", "claims"]


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Timing(_M):
    """When contact happens: around paydays, in the mornings, SMS before the first call."""

    payday_aligned: bool = False
    mornings: bool = False
    sms_first: bool = False


class Offer(_M):
    """A repayment offer: instalments over ``months``, a settlement ``discount``, or interest relief."""

    type: Literal["none", "instalments", "settlement", "interest_relief"] = "none"
    months: int | None = Field(default=None, ge=2, le=60)
    discount: float | None = Field(default=None, gt=0, lt=1)


class Escalation(_M):
    """What happens to an account still unpaid ``after_days`` days into the treatment."""

    after_days: int = Field(default=0, ge=0)
    action: Literal["none", "field_visit", "legal", "agency"] = "none"


class ThirdParty(_M):
    """Contact with third parties: only to locate a lost debtor, stopping when one objects."""

    purpose: Literal["locate", "pay"] = "locate"
    only_when_lost: bool = True
    stop_on_objection: bool = True


class Forbearance(_M):
    """Forbearance a customer in arrears difficulties can have besides the ``offer`` (FCA CONC 7.3).

    ``options`` are available on request; ``debt_advice`` refers the customer to free,
    independent debt advice.
    """

    options: list[Literal["reduce_interest", "waive_charges", "token_payments", "repayment_plan", "extend_term",
                          "defer_payments"]] = Field(default_factory=list)
    debt_advice: bool = False

    @property
    def any(self) -> bool:
        """Whether any forbearance is offered."""
        return bool(self.options) or self.debt_advice


class Reminder(_M):
    """A call shortly before a promised payment falls due (the seed's pre-deadline reminder).

    It falls within days of the conversation that made the promise: ``only_with_consent``
    says it is made only when the debtor agreed to it (US Reg F 1006.14(b)(3)).
    """

    minutes_before: int = Field(default=30, ge=5, le=24 * 60)
    only_with_consent: bool = True


_CLOCK = r"^([01]\d|2[0-3]):[0-5]\d$"


class Treatment(_M):
    """What an account receives: channels, intensity, timing, offer, escalation, script.

    ``call_window`` is ``["HH:MM", "HH:MM"]`` in the debtor's local time;
    ``pause_after_contact_days`` the days without calls after a conversation;
    ``forbearance`` what a customer in difficulty can have besides the offer; ``reminder``
    a call shortly before a promise falls due; ``verify_identity`` whether the collector
    confirms the right party before mentioning the debt.
    """

    channels: list[Literal["call", "sms", "email", "letter", "visit", "app", "ivr"]] = Field(default_factory=list)
    attempts_per_week: float = Field(default=0, ge=0)
    attempts_per_day: int = Field(default=0, ge=0)
    sms_per_week: float = Field(default=0, ge=0)
    call_window: tuple[Annotated[str, Field(pattern=_CLOCK)], Annotated[str, Field(pattern=_CLOCK)]] | None = None
    pause_after_contact_days: int = Field(default=0, ge=0)
    timing: Timing = Timing()
    offer: Offer = Offer()
    forbearance: Forbearance = Forbearance()
    reminder: Reminder | None = None
    verify_identity: bool = True
    escalation: Escalation = Escalation()
    third_party: ThirdParty | None = None
    visit_staff: int = Field(default=0, ge=0)
    script: str = ""
    sms_text: str = ""


class StrategyRule(_M):
    """``when`` is a safe expression over an account's segments (:mod:`playbook.expressions`)."""

    when: str = "True"
    treatment: Treatment

    @field_validator("when")
    @classmethod
    def _safe(cls, v: str) -> str:
        try:
            parse(v)
        except ExpressionError as exc:
            raise ValueError(exc.reason) from None
        return v

    @property
    def expression(self) -> Expression:
        """The parsed ``when``."""
        return parse(self.when)


class StrategyRules(_M):
    """Just the rules of a strategy: what :func:`playbook.compliance.strategy_verdict` reads."""

    name: str | Text = ""
    rules: list[StrategyRule] = Field(default_factory=list)


class Strategy(_M):
    """A named, ordered list of rules; the first rule whose ``when`` holds treats the account.

    ``packs`` are the compliance packs the strategy claims to be admissible under (empty:
    every pack); a test keeps each shipped strategy admissible under every pack it claims.
    """

    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    name: Text
    description: Text
    packs: list[str] = Field(default_factory=list)
    rules: list[StrategyRule] = Field(min_length=1)

    @model_validator(mode="after")
    def _channels(self) -> "Strategy":
        for i, r in enumerate(self.rules):
            if not r.treatment.channels:
                raise ValueError(f"rules[{i}].treatment.channels: at least one channel is required")
        return self


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
        problems = []
        for e in exc.errors():
            loc = [str(x) for x in e["loc"][1:]]
            rule = next((i for i, x in enumerate(loc) if x.isdigit() and i and loc[i - 1] == "rules"), None)
            entry = f"strategy.rules[{loc[rule]}]" if rule is not None else "strategy"
            fld = ".".join(loc[rule + 1:] if rule is not None else loc) or "-"
            problems.append((str(path), entry, fld, e["msg"].removeprefix("Value error, ")))
        raise ContentError(problems) from None


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


def claims(strategy: Strategy, pack: str) -> bool:
    """Whether ``strategy`` claims to be usable under the pack ``pack`` (no ``packs``: every pack)."""
    return not strategy.packs or pack in strategy.packs


def assign(strategy: Strategy, segments: pd.DataFrame) -> np.ndarray:
    """Index of the rule that treats each account (-1 when none applies).

    Each ``when`` is evaluated by the safe expression language over the segment columns;
    the first rule that holds treats the account.
    """
    used = set().union(*(r.expression.names for r in strategy.rules))
    missing = sorted(used - set(segments.columns))
    if missing:
        raise UnknownKeyError("segment column", missing[0], list(segments.columns))
    columns = {c: (segments[c].astype(str) if isinstance(segments[c].dtype, pd.CategoricalDtype) else segments[c])
               for c in sorted(used)}
    n = len(segments)
    out = np.full(n, -1, dtype="int64")
    open_ = np.ones(n, dtype=bool)
    for i, rule in enumerate(strategy.rules):
        hit = rule.expression.mask(columns, n)
        out[hit & open_] = i
        open_ &= ~hit
    return out
