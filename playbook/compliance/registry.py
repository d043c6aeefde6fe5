"""The check-type registry: what a compliance pack rule's ``check`` names.

A check type is one :class:`CheckType` subclass that declares, in one place, its
parameters, its log check, its effect on contact headroom, its test of a strategy's
treatments, whether a contact log can show it at all, and which new parameter values
would loosen it. Everything else in :mod:`playbook.compliance` dispatches through the
registered objects, so a new check type is one :func:`register_check` call.
"""

from __future__ import annotations

from contextlib import contextmanager
from itertools import count
from typing import TYPE_CHECKING, Any, ClassVar, Iterator, Literal, Mapping

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from ..errors import ArgumentError, PlaybookError, UnknownKeyError

if TYPE_CHECKING:
    from ..content import PackRule, Playbook, Text
    from ..strategy import StrategyRules, Treatment
    from .events import Events
    from .room import Room

__all__ = ["CheckType", "CheckParams", "NoParams", "register_check", "unregister_check", "registered_check", "get_check",
           "check_types", "ComplianceConfigError"]


class ComplianceConfigError(PlaybookError):
    """A pack override would loosen a rule, or names an unknown rule or parameter."""

    exit_code = 2


class CheckParams(BaseModel):
    """Base of check-type parameter models: unknown parameters are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(CheckParams):
    """The parameters of a check type that takes none."""


Direction = Literal["lower", "higher", "fewer"]


class CheckType:
    """One kind of compliance rule; subclass it and :func:`register_check` the subclass.

    Class attributes
    ----------------
    name : str
        What a pack rule writes in ``check``.
    Params : type of CheckParams
        The parameter model (pydantic, ``extra="forbid"``) a rule's ``params`` must fit.
    checkable : bool
        Whether a contact log can show a breach at all (False for policy- or
        strategy-level rules; :func:`playbook.compliance.check_compliance` lists them as
        not checkable).
    stricter : mapping of str to {"lower", "higher", "fewer"}
        For the default :meth:`loosened`: per parameter, which way is stricter
        (``"fewer"``: a subset of the old list). A parameter not listed may not change.

    Every hook has a neutral default, so a subclass overrides only what applies.
    """

    name: ClassVar[str] = ""
    Params: ClassVar[type[CheckParams]] = NoParams
    checkable: ClassVar[bool] = True
    stricter: ClassVar[Mapping[str, Direction]] = {}

    def parse(self, params: Mapping[str, Any]) -> CheckParams:
        """``params`` validated by :attr:`Params` (raises ``pydantic.ValidationError``)."""
        return self.Params.model_validate(dict(params))

    def find(self, events: "Events", rule: "PackRule", params: Any) -> pd.DataFrame:
        """Violations of ``rule`` in prepared contact events (default: none).

        Build the result with ``events.violations(rule, mask, detail)``, the detail worded in
        both languages (a :class:`~playbook.compliance.Worded` pair of texts per hit; see
        :meth:`~playbook.compliance.Events.violations`).
        """
        return events.violations(rule, np.zeros(len(events), dtype=bool), "")

    def limit(self, room: "Room", rule: "PackRule", params: Any) -> None:
        """Narrow today's contact headroom of every account (default: no effect).

        ``room`` holds the events up to now and offers ``cap``, ``wait``, ``block`` and
        ``close_daily``.
        """

    def treatment_problems(self, treatment: "Treatment", rule: "PackRule", params: Any) -> "list[Text | str]":
        """What in one strategy treatment breaks ``rule`` (default: nothing).

        Each problem is a :class:`~playbook.content.Text` (``zh`` and ``en``; the built-in
        types end it with the rule's own text in that language); a plain string is one
        language only and is shown for both.
        """
        return []

    def strategy_problems(self, strategy: "StrategyRules", rule: "PackRule", params: Any) -> "list[Text | str]":
        """What in a strategy as a whole breaks ``rule`` (default: nothing); worded as in
        :meth:`treatment_problems`."""
        return []

    def content_problems(self, playbook: "Playbook", rule: "PackRule", params: Any) -> "list[tuple[str, Text | str]]":
        """What in the playbook content breaks ``rule``: ``(where, detail)`` pairs (default: nothing),
        the detail worded as in :meth:`treatment_problems`.

        For rules about what the content teaches or sets (team targets, tactics).
        """
        return []

    def defaults(self, playbook: "Playbook") -> dict[str, Any]:
        """Parameter values a pack rule may omit, read from the playbook (default: none).

        E.g. a threshold shared with segmentation in ``settings.yaml``.
        """
        return {}

    def loosened(self, old: Any, new: Any) -> list[str]:
        """Names of the parameters whose change from ``old`` to ``new`` loosens the rule.

        The default reads :attr:`stricter`; a changed parameter it does not rank counts
        as loosening.
        """
        out = []
        for key in type(old).model_fields:
            a, b = getattr(old, key), getattr(new, key)
            if a == b:
                continue
            way = self.stricter.get(key)
            if way == "lower":
                looser = b > a
            elif way == "higher":
                looser = b < a
            elif way == "fewer":
                looser = not {_fold(x) for x in b} <= {_fold(x) for x in a}
            else:
                looser = True
            if looser:
                out.append(key)
        return out

    def __repr__(self) -> str:
        return f"<check type {self.name!r}>"


def _fold(x: Any) -> Any:
    return x.lower() if isinstance(x, str) else x


_REGISTRY: dict[str, CheckType] = {}
_VERSIONS = count(1)
_version = 0


def registry_version() -> int:
    """A number that changes whenever the registry does (keys caches of validated packs)."""
    return _version


def _bump() -> None:
    global _version
    _version = next(_VERSIONS)


def register_check(check: type[CheckType] | CheckType, *, replace: bool = False) -> Any:
    """Register a check type under its ``name``; usable as a class decorator.

    Parameters
    ----------
    check : CheckType subclass or instance
        A class is instantiated without arguments.
    replace : bool
        Allow replacing a registered type of the same name.

    Returns
    -------
    The ``check`` argument, unchanged.
    """
    obj = check() if isinstance(check, type) and issubclass(check, CheckType) else check
    if not isinstance(obj, CheckType):
        raise ArgumentError("check", check, "a CheckType subclass or instance")
    if not obj.name.isidentifier():
        raise ArgumentError("check.name", obj.name, "a name such as 'quiet_hours'")
    if obj.name in _REGISTRY and not replace and type(_REGISTRY[obj.name]) is not type(obj):
        raise ArgumentError("check.name", obj.name, "a name not yet registered (or pass replace=True)")
    _REGISTRY[obj.name] = obj
    _bump()
    return check


def unregister_check(name: str) -> None:
    """Remove the check type ``name``; the error lists the known ones."""
    get_check(name)
    del _REGISTRY[name]
    _bump()


@contextmanager
def registered_check(check: type[CheckType] | CheckType) -> Iterator[CheckType]:
    """Register ``check`` for the ``with`` block only; any type it replaced comes back.

    Yields
    ------
    CheckType
        The registered instance.
    """
    obj = check() if isinstance(check, type) else check
    before = _REGISTRY.get(obj.name)
    register_check(obj, replace=True)
    try:
        yield obj
    finally:
        if before is None:
            _REGISTRY.pop(obj.name, None)
        else:
            _REGISTRY[obj.name] = before
        _bump()


def get_check(name: str) -> CheckType:
    """The registered check type ``name``.

    Parameters
    ----------
    name : str
        What a pack rule writes in ``check``.

    Returns
    -------
    CheckType

    Raises
    ------
    UnknownKeyError
        Listing the registered names.
    """
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise UnknownKeyError("compliance check type", str(name), _REGISTRY) from None


def check_types() -> dict[str, CheckType]:
    """A copy of the registry: name to check type."""
    return dict(_REGISTRY)
