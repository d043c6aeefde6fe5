"""Contact logs and contact plans checked against a rule pack."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..content import Pack, Playbook, load_playbook
from ..errors import ArgumentError
from ..portfolio import Portfolio
from ..prepared import Prepared
from .events import events_of, prepare_events
from .packs import bind

__all__ = ["check_compliance", "ComplianceResult"]

_COLUMNS = ["rule", "row", "account_id", "ts", "detail", "detail_zh", "source"]
NOT_CHECKABLE = "not checkable from a contact log (policy)"
CHECKED = "checked in the contact log"


@dataclass
class ComplianceResult:
    """Violations found, one per violating interaction and rule, plus a per-rule summary.

    Attributes
    ----------
    pack : Pack
        The pack checked against.
    violations : DataFrame
        ``rule``, ``row``, ``account_id``, ``ts`` (debtor local time), ``detail`` (English),
        ``detail_zh`` (Chinese; :func:`~playbook.compliance.detail_column` names the column of
        a language), ``source``.
    checked : int
        Interactions checked (reported on).
    not_checkable : list of str
        Enabled rules that a contact log cannot show (policy or strategy level): reported
        as :data:`NOT_CHECKABLE`, never with a violation count.
    """

    pack: Pack
    violations: pd.DataFrame
    checked: int
    not_checkable: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing was found."""
        return len(self.violations) == 0

    @property
    def summary(self) -> pd.DataFrame:
        """One row per enabled rule: violations, accounts, texts, source, whether logs can show it.

        Rules a contact log cannot show come last, with ``status`` :data:`NOT_CHECKABLE` and
        no count (``<NA>``): they were not checked, so they have no "0 violations".
        """
        counts = self.violations.groupby("rule")["account_id"].agg(["size", "nunique"])
        rows = []
        for r in self.pack.rules:
            if not r.enabled:
                continue
            checked = r.id not in self.not_checkable
            size, accounts = counts.loc[r.id] if r.id in counts.index else (0, 0)
            rows.append({"rule": r.id, "violations": int(size) if checked else None,
                         "accounts": int(accounts) if checked else None,
                         "text_zh": r.text.zh, "text_en": r.text.en, "source": r.source,
                         "checked_in_logs": checked, "status": CHECKED if checked else NOT_CHECKABLE,
                         "verified": r.verified})
        out = pd.DataFrame(rows)
        if len(out):
            out = out.sort_values("checked_in_logs", ascending=False, kind="stable").reset_index(drop=True)
            for c in ("violations", "accounts"):
                out[c] = out[c].astype("Int64")
        return out

    def to_dict(self) -> dict:
        """The result as plain data (``pack``, ``interactions_checked``, ``violations``, ``summary``
        of the checked rules, and ``not_checkable``: the policy rules, with text and source)."""
        v = self.violations
        summary = self.summary
        checked = summary[summary["checked_in_logs"]] if len(summary) else summary
        policy = summary[~summary["checked_in_logs"]] if len(summary) else summary
        return {
            "pack": self.pack.id, "interactions_checked": self.checked,
            "violations": [{"rule": r.rule, "account_id": r.account_id, "ts": r.ts, "detail": r.detail,
                            "detail_zh": r.detail_zh, "source": r.source} for r in v.itertuples(index=False)],
            "summary": {s["rule"]: {"violations": int(s["violations"]), "accounts": int(s["accounts"]),
                                    **{k: s[k] for k in ("text_zh", "text_en", "source", "checked_in_logs", "verified")}}
                        for s in checked.to_dict(orient="records")},
            "not_checkable": {s["rule"]: {"status": NOT_CHECKABLE, **{k: s[k] for k in ("text_zh", "text_en", "source",
                                                                                       "verified")}}
                              for s in policy.to_dict(orient="records")},
        }

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON (Chinese text kept readable)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)


def _since_seconds(since: str | pd.Timestamp, timezone: str, name: str = "since") -> int:
    try:
        ts = pd.Timestamp(since)
    except (TypeError, ValueError):
        raise ArgumentError(name, since, "a timestamp such as '2026-11-23 00:00'") from None
    if ts is pd.NaT:
        raise ArgumentError(name, since, "a timestamp such as '2026-11-23 00:00'")
    if ts.tzinfo is None:
        ts = ts.tz_localize(timezone)
    return ts.tz_convert("UTC").value // 1_000_000_000


def check_compliance(data: Portfolio | Prepared | pd.DataFrame, pack: str | Pack = "cn", *,
                     plan: pd.DataFrame | None = None, accounts: pd.DataFrame | None = None,
                     since: str | pd.Timestamp | None = None, until: str | pd.Timestamp | None = None,
                     playbook: Playbook | None = None) -> ComplianceResult:
    """Check a contact log, or a proposed contact plan, against a rule pack.

    Parameters
    ----------
    data : Portfolio, Prepared or DataFrame
        A portfolio (its interactions are checked, with account time zones), a
        :class:`~playbook.prepared.Prepared` bundle (its prepared contact events are
        computed once and reused by every later check and :func:`headroom`), or an
        interactions frame in the canonical columns.
    pack : {"cn", "us", "uk"} or Pack
        The rule pack, possibly tightened with :func:`tighten`.
    plan : DataFrame, optional
        Proposed contacts (same columns, future timestamps). When given, the history in
        ``data`` is context (e.g. for 7-day windows) and only the plan's own rows are
        reported.
    accounts : DataFrame, optional
        Account table for time zones when ``data`` is a bare interactions frame.
    since : timestamp, optional
        Report only violations at or after this moment (a naive value is read in the
        business time zone: the portfolio's, else ``playbook.timezone``); earlier contacts
        still count as context (rolling windows, pauses after conversations).
    until : timestamp, optional
        Report only violations before this moment (read as ``since``); with ``since`` it
        makes a window such as a briefing's last 7 days, ``[since, until)``.
    playbook : Playbook, optional
        The content; defaults to the bundle's or :func:`playbook.load_playbook`.

    Returns
    -------
    ComplianceResult
        ``violations`` has ``rule``, ``account_id``, ``ts`` (debtor local time),
        ``detail`` (English), ``detail_zh`` (Chinese), ``source`` and ``row`` (position in
        the checked frame or plan).

    Raises
    ------
    ContentError
        The pack names an unknown check type or has a bad parameter.
    """
    prepared = data if isinstance(data, Prepared) else None
    pb = playbook or (prepared.playbook if prepared is not None else load_playbook())
    checked = bind(pack, pb)
    p = checked.pack
    if prepared is not None:
        data = prepared.portfolio
    if isinstance(data, Portfolio):
        it, accounts = data.interactions, data.accounts
    elif isinstance(data, pd.DataFrame):
        it = data
    else:
        raise ArgumentError("data", type(data).__name__, "a Portfolio, a Prepared bundle or an interactions DataFrame")
    if plan is not None:
        ev = prepare_events(pd.concat([it, plan], ignore_index=True), accounts, p.default_timezone, pb)
        report = ev.frame["row"].to_numpy() >= len(it)
    else:
        ev = events_of(prepared, p.default_timezone, pb) if prepared is not None else \
            prepare_events(it, accounts, p.default_timezone, pb)
        report = None
    zone = pb.timezone_of(data) if isinstance(data, Portfolio) else pb.timezone
    for name, bound, keep in (("since", since, np.greater_equal), ("until", until, np.less)):
        if bound is not None:
            inside = keep(ev.frame["t"].to_numpy(), _since_seconds(bound, zone, name))
            report = inside if report is None else report & inside
    ev = ev.reporting(report)
    parts = [b.check.find(ev, b.rule, b.params) for b in checked.active if b.check.checkable]
    v = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=_COLUMNS)
    if plan is not None:
        v["row"] = v["row"] - len(it)
    v = v.sort_values(["account_id", "row", "rule"], kind="stable").reset_index(drop=True)
    n_checked = len(ev) if report is None else int(report.sum())
    not_checkable = [b.rule.id for b in checked.active if not b.check.checkable]
    return ComplianceResult(p, v, checked=n_checked, not_checkable=not_checkable)
