"""Compliance rule packs applied to contact logs, contact plans, strategies and scripts.

Rules run on the debtor's local time: the account's ``timezone``, or the pack's default.
Each pack rule names a check type in ``check``; check types are :class:`CheckType`
objects registered once with :func:`register_check` (the built-in ones in
:mod:`~playbook.compliance.checks`), and every function here dispatches through them.
Results carry the rule id, the account, the time and a detail a person can act on, worded
in both languages (``detail`` in English, ``detail_zh`` in Chinese), and every rule names its
legal source.

Modules: ``registry`` (check types), ``events`` (contact logs prepared for the checks),
``lint`` (the marker scan), ``checks`` (built-in types), ``packs`` (validation,
:func:`tighten`), ``engine`` (:func:`check_compliance`), ``room`` and ``headroom``
(contacts left today) and ``verdict`` (strategies).
"""

from __future__ import annotations

from . import checks as _builtin  # noqa: F401  (registers the built-in check types)
from .engine import ComplianceResult, check_compliance
from .events import Events, UnknownTimezoneError, Worded, detail_column
from .headroom import headroom
from .lint import lint_text
from .packs import get_pack, tighten, zone_warning
from .registry import (CheckParams, CheckType, ComplianceConfigError, NoParams, check_types, get_check, register_check,
                       registered_check, unregister_check)
from .room import Room
from .verdict import Verdict, admissible_strategies, lint_content, strategy_verdict

__all__ = ["check_compliance", "ComplianceResult", "tighten", "headroom", "lint_text", "strategy_verdict", "Verdict",
           "register_check", "unregister_check", "registered_check", "get_check", "check_types", "CheckType", "CheckParams",
           "NoParams", "Events", "Room", "ComplianceConfigError", "UnknownTimezoneError", "get_pack",
           "lint_content", "admissible_strategies", "zone_warning", "Worded", "detail_column"]
