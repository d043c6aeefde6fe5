"""Compliance rule packs applied to contact logs, contact plans, strategies and scripts.

Rules run on the debtor's local time: the account's ``timezone``, or the pack's default.
Each check is a vectorised function registered under the name a pack rule gives in
``check``; results carry the rule id, the account, the time and a detail a person can act
on, and every rule names its legal source.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from pydantic import BaseModel, ConfigDict, Field

from .content import Pack, PackRule, Playbook, load_playbook
from .errors import PlaybookError, UnknownKeyError
from .arrays import codes_of, previous_time
from .portfolio import Portfolio

__all__ = ["check_compliance", "ComplianceResult", "tighten", "headroom", "lint_text", "strategy_verdict",
           "Verdict", "register_check", "ComplianceConfigError", "get_pack"]

_S_DAY = 86_400


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Clock(_Model):
    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")


class _Max(_Model):
    max: int = Field(ge=0)


class _Rolling(_Model):
    max: int = Field(ge=0)
    days: int = Field(ge=1)


class _Days(_Model):
    days: int = Field(ge=1)


class _Lost(_Model):
    lost_after_days: int = Field(ge=1)


class _MinStaff(_Model):
    min: int = Field(ge=1)


class _Markers(_Model):
    markers: list[str] = Field(min_length=1)


class _NoParams(_Model):
    pass


# The checks a rule pack may use, with the parameters each takes (the engine is compliance.py).
CHECK_PARAMS: dict[str, type[_Model]] = {
    "quiet_hours": _Clock, "daily_unanswered_calls": _Max, "daily_connected_calls": _Max,
    "rolling_calls": _Rolling, "after_conversation": _Days, "third_party_when_lost": _Lost,
    "third_party_once_per_person": _Max, "opt_out_in_messages": _Markers, "honour_channel_stop": _NoParams,
    "visit_staff": _MinStaff, "prohibited_language": _NoParams, "policy": _NoParams,
    "forbearance": _NoParams, "vulnerable_path": _NoParams,
}


THIRD_PARTIES = ("relative", "colleague", "third_party")
MESSAGE_CHANNELS = ("sms", "email")
VOICE_CALLS = ("call", "ivr")  # telephone calls, live or automated


class ComplianceConfigError(PlaybookError):
    """A pack override would loosen a rule, or names an unknown rule or parameter."""

    exit_code = 2


@dataclass
class _Events:
    """Interactions prepared once for every check: sorted by account and time."""

    frame: pd.DataFrame  # one row per interaction, in (account, time) order
    pb: Playbook


CHECKS: dict[str, Callable[[_Events, PackRule], pd.DataFrame]] = {}


def register_check(name: str) -> Callable:
    """Register the engine of a check type (the name a pack rule uses in ``check``)."""
    def deco(fn: Callable[[_Events, PackRule], pd.DataFrame]) -> Callable:
        CHECKS[name] = fn
        return fn
    return deco


def get_pack(pack: str | Pack, playbook: Playbook | None = None) -> Pack:
    """Look up a pack by id (``cn``, ``us``, ``uk``); the error lists the known ones."""
    if isinstance(pack, Pack):
        return pack
    return (playbook or load_playbook()).pack(pack)


# ------------------------------------------------------------------------ preparation


def _local_parts(ts: pd.Series, tz: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Minutes of the day, local day number and local wall-clock time of each UTC timestamp."""
    minutes = np.zeros(len(ts), dtype="int64")
    day = np.zeros(len(ts), dtype="int64")
    wall = np.zeros(len(ts), dtype="datetime64[s]")
    for zone in pd.unique(tz):
        m = (tz == zone).to_numpy()
        local = ts[m].dt.tz_convert(zone).dt.tz_localize(None).to_numpy().astype("datetime64[s]")
        wall[m] = local
        day[m] = local.astype("datetime64[D]").astype("int64")
        minutes[m] = (local - local.astype("datetime64[D]")).astype("int64") // 60
    return minutes, day, wall


def _zones(accounts: pd.DataFrame | None, account_ids: pd.Series, default: str) -> pd.Series:
    if accounts is None or "timezone" not in accounts:
        return pd.Series(default, index=account_ids.index)
    pos = codes_of(account_ids, accounts["account_id"])
    tz_acc = accounts["timezone"].astype(object).fillna(default).to_numpy()
    out = pd.Series(np.where(pos >= 0, tz_acc[np.maximum(pos, 0)], default) if len(tz_acc) else default,
                    index=account_ids.index, dtype=object)
    for zone in pd.unique(out):
        try:
            ZoneInfo(str(zone))
        except (ZoneInfoNotFoundError, ValueError):
            bad = out.index[out == zone][0]
            raise PlaybookError(f"unknown timezone {zone!r} for account {account_ids[bad]!r}; "
                                f"use an IANA name such as 'Asia/Shanghai'") from None
    return out.astype(str)


def _prepare(interactions: pd.DataFrame, accounts: pd.DataFrame | None, pack: Pack, pb: Playbook) -> _Events:
    it = interactions.reset_index(drop=True)
    tz = _zones(accounts, it["account_id"], pack.default_timezone)
    acc, _ = pd.factorize(it["account_id"])
    t = it["ts"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[s]").astype("int64")
    order = np.lexsort((np.arange(len(it)), t, acc))
    minute, day, wall = _local_parts(it["ts"], tz)
    f = pd.DataFrame({"row": order, "account_id": it["account_id"].array.take(order), "acc": acc[order], "t": t[order],
                      "minute": minute[order], "day": day[order], "wall": wall[order],
                      "tz": pd.Categorical(tz.to_numpy()[order])})
    for col in ("channel", "direction", "party", "outcome"):
        f[col] = pd.Categorical(it[col].array.take(order))
    for col in ("contact_ref", "message"):
        f[col] = it[col].to_numpy(dtype=object)[order] if col in it else None
    f["staff_count"] = it["staff_count"].to_numpy(dtype="float64")[order] if "staff_count" in it else np.nan
    f["planned"] = it["_planned"].to_numpy(dtype=bool)[order] if "_planned" in it else False
    oc = codes_of(it["outcome"], list(pb.dispositions))[order]
    flags = {k: np.append(np.array([getattr(pb.dispositions[d], k) for d in pb.dispositions]), False)
             for k in ("contact", "rpc")}
    f["is_contact"] = flags["contact"][oc]
    f["is_rpc"] = flags["rpc"][oc]
    f["outbound"] = (f["direction"] == "outbound").to_numpy()
    f["is_call"] = f["channel"].isin(VOICE_CALLS).to_numpy() & f["outbound"].to_numpy()
    f["is_conversation"] = f["channel"].isin(VOICE_CALLS).to_numpy() & f["is_rpc"].to_numpy()
    f["is_third_party"] = (f["party"].isin(THIRD_PARTIES) | (f["outcome"] == "third_party_contact")).to_numpy()
    return _Events(f, pb)


def _violations(ev: _Events, mask: np.ndarray, rule: PackRule,
                detail: "str | Callable[[pd.DataFrame], pd.Series | np.ndarray]") -> pd.DataFrame:
    """Violation rows for ``mask``; ``detail`` is a text or a function of the violating rows."""
    hits = ev.frame[mask]
    local = (pd.Series(hits["wall"].to_numpy()).dt.strftime("%Y-%m-%d %H:%M") + " "
             + hits["tz"].astype(str).to_numpy()).to_numpy() if len(hits) else np.array([], dtype=object)
    text = detail if isinstance(detail, str) else (np.asarray(detail(hits.assign(local=local)), dtype=object)
                                                   if len(hits) else np.array([], dtype=object))
    return pd.DataFrame({"rule": rule.id, "row": hits["row"].to_numpy(), "account_id": hits["account_id"].to_numpy(),
                         "ts": local, "detail": text, "source": rule.source, "planned": hits["planned"].to_numpy()})


def _hhmm(text: str) -> int:
    h, m = text.split(":")
    return int(h) * 60 + int(m)


def _in_quiet(minute: np.ndarray, start: int, end: int) -> np.ndarray:
    return (minute >= start) | (minute < end) if start > end else (minute >= start) & (minute < end)


# ------------------------------------------------------------------------ checks


@register_check("quiet_hours")
def _quiet_hours(ev: _Events, rule: PackRule) -> pd.DataFrame:
    f = ev.frame
    s, e = _hhmm(rule.params["start"]), _hhmm(rule.params["end"])
    hit = f["outbound"].to_numpy() & _in_quiet(f["minute"].to_numpy(), s, e)
    allowed = f"; contact is allowed {rule.params['end']}-{rule.params['start']} local time"
    return _violations(ev, hit, rule, lambda h: h["channel"].astype(str) + " at " + h["local"] + allowed)


def _nth_in_group(f: pd.DataFrame, mask: np.ndarray, keys: list[str]) -> np.ndarray:
    """1-based running count of ``mask`` events within each group of ``keys`` (time order)."""
    n = np.zeros(len(f), dtype="int64")
    if mask.any():
        sub = f.loc[mask, keys]
        n[mask] = sub.groupby(keys, sort=False, dropna=False).cumcount().to_numpy() + 1
    return n


@register_check("daily_unanswered_calls")
def _daily_unanswered(ev: _Events, rule: PackRule) -> pd.DataFrame:
    f = ev.frame.assign(number=ev.frame["contact_ref"].fillna(ev.frame["party"]))
    mask = (f["is_call"] & ~f["is_contact"]).to_numpy()
    nth = _nth_in_group(f, mask, ["acc", "number", "day"])
    hit = mask & (nth > rule.params["max"])
    return _violations(ev, hit, rule, lambda h: [f"unanswered call attempt no. {k} today to the same number "
                                                 f"(limit {rule.params['max']})" for k in nth[hit]])


@register_check("daily_connected_calls")
def _daily_connected(ev: _Events, rule: PackRule) -> pd.DataFrame:
    f = ev.frame
    mask = (f["is_call"] & f["is_contact"]).to_numpy()
    nth = _nth_in_group(f, mask, ["acc", "day"])
    hit = mask & (nth > rule.params["max"])
    return _violations(ev, hit, rule, lambda h: [f"connected call no. {k} today (limit {rule.params['max']}; "
                                                 "unverified rule)" for k in nth[hit]])


@register_check("rolling_calls")
def _rolling_calls(ev: _Events, rule: PackRule) -> pd.DataFrame:
    f = ev.frame
    mask = f["is_call"].to_numpy()
    idx = np.flatnonzero(mask)
    hit = np.zeros(len(f), dtype=bool)
    count = np.zeros(len(f), dtype="int64")
    if len(idx):
        big = np.int64(1) << 40
        key = f["acc"].to_numpy()[idx].astype("int64") * big + f["t"].to_numpy()[idx]
        window = rule.params["days"] * _S_DAY
        first = np.searchsorted(key, key - window, side="right")
        count[idx] = np.arange(len(idx)) - first + 1
        hit[idx] = count[idx] > rule.params["max"]
    return _violations(ev, hit, rule, lambda h: [f"call no. {k} within {rule.params['days']} days "
                                                 f"(limit {rule.params['max']})" for k in count[hit]])


@register_check("after_conversation")
def _after_conversation(ev: _Events, rule: PackRule) -> pd.DataFrame:
    f = ev.frame
    prev = previous_time(f["acc"].to_numpy(), f["t"].to_numpy(), f["is_conversation"].to_numpy())
    gap = f["t"].to_numpy() - prev
    hit = f["is_call"].to_numpy() & (prev >= 0) & (gap < rule.params["days"] * _S_DAY)
    return _violations(ev, hit, rule, lambda h: [f"call {g / _S_DAY:.1f} days after a telephone conversation "
                                                 f"(wait {rule.params['days']} days)" for g in gap[hit]])


@register_check("third_party_when_lost")
def _third_party_when_lost(ev: _Events, rule: PackRule) -> pd.DataFrame:
    f = ev.frame
    prev = previous_time(f["acc"].to_numpy(), f["t"].to_numpy(), f["is_rpc"].to_numpy() & (f["party"] == "debtor").to_numpy())
    gap = f["t"].to_numpy() - prev
    reachable = (prev >= 0) & (gap < rule.params["lost_after_days"] * _S_DAY)
    hit = f["is_third_party"].to_numpy() & f["outbound"].to_numpy() & reachable
    return _violations(ev, hit, rule, lambda h: [
        f"third-party contact while the debtor was reachable (debtor reached {g / _S_DAY:.1f} days earlier; third "
        f"parties only after {rule.params['lost_after_days']} days without reaching the debtor)" for g in gap[hit]])


@register_check("third_party_once_per_person")
def _third_party_once(ev: _Events, rule: PackRule) -> pd.DataFrame:
    f = ev.frame.assign(person=ev.frame["contact_ref"].fillna(ev.frame["party"]))
    mask = (f["is_third_party"] & f["outbound"]).to_numpy()
    nth = _nth_in_group(f, mask, ["acc", "person"])
    hit = mask & (nth > rule.params["max"])
    return _violations(ev, hit, rule, lambda h: [
        f"contact no. {k} with the same third party {p} (at most {rule.params['max']}, for location information only)"
        for k, p in zip(nth[hit], f["person"].to_numpy()[hit])])


@register_check("opt_out_in_messages")
def _opt_out(ev: _Events, rule: PackRule) -> pd.DataFrame:
    f = ev.frame
    msg = f["message"].fillna("").astype(str).str.lower()
    has = np.zeros(len(f), dtype=bool)
    for marker in rule.params["markers"]:
        has |= msg.str.contains(marker.lower(), regex=False).to_numpy()
    mask = f["channel"].isin(MESSAGE_CHANNELS).to_numpy() & f["outbound"].to_numpy()
    hit = mask & ~has
    return _violations(ev, hit, rule, lambda h: np.where(msg.to_numpy()[hit] == "",
                                                         "message text not recorded: no evidence of an opt-out notice",
                                                         "message carries no opt-out notice"))


@register_check("honour_channel_stop")
def _channel_stop(ev: _Events, rule: PackRule) -> pd.DataFrame:
    f = ev.frame
    stops = f[f["outcome"] == "opt_out"].groupby(["acc", "channel"])["t"].min()
    if stops.empty:
        return _violations(ev, np.zeros(len(f), dtype=bool), rule, "")
    first = pd.Series(pd.MultiIndex.from_frame(f[["acc", "channel"]]).map(stops.to_dict().get), dtype="float64")
    hit = f["outbound"].to_numpy() & (f["t"].to_numpy() > first.fillna(np.inf).to_numpy())
    return _violations(ev, hit, rule, lambda h: h["channel"].astype(str) + " used after the debtor asked to stop this channel")


@register_check("visit_staff")
def _visit_staff(ev: _Events, rule: PackRule) -> pd.DataFrame:
    f = ev.frame
    staff = f["staff_count"].to_numpy()
    hit = (f["channel"] == "visit").to_numpy() & f["outbound"].to_numpy() & ~(staff >= rule.params["min"])
    return _violations(ev, hit, rule, lambda h: [
        f"field visit without a recorded staff count (at least {rule.params['min']} staff)" if np.isnan(k)
        else f"field visit by {int(k)} staff (at least {rule.params['min']})" for k in staff[hit]])


@register_check("prohibited_language")
def _prohibited_language(ev: _Events, rule: PackRule) -> pd.DataFrame:
    f = ev.frame
    msg = f["message"].fillna("").astype(str).str.lower()
    hit = np.zeros(len(f), dtype=bool)
    detail = np.full(len(f), "", dtype=object)
    for practice in ev.pb.prohibited:
        for marker in [m for ms in practice.markers.values() for m in ms]:
            found = msg.str.contains(marker.lower(), regex=False).to_numpy() & ~hit
            if found.any():
                detail[found] = f"prohibited practice '{practice.id}' ({practice.name.en}): \u201c{marker}\u201d; " \
                                f"source: {practice.sources[0].citation}"
                hit |= found
    return _violations(ev, hit, rule, lambda h: detail[hit])


def _not_checkable(ev: _Events, rule: PackRule) -> pd.DataFrame:
    """Policy and strategy-level rules: nothing to find in a contact log."""
    return _violations(ev, np.zeros(len(ev.frame), dtype=bool), rule, "")


for _name in ("policy", "forbearance", "vulnerable_path"):
    CHECKS[_name] = _not_checkable


# ------------------------------------------------------------------------ packs


_STRICTER = {"max": "le", "days": "ge", "lost_after_days": "ge", "min": "ge"}


def tighten(pack: str | Pack, overrides: Mapping[str, Mapping[str, Any]], playbook: Playbook | None = None) -> Pack:
    """A copy of ``pack`` with stricter settings; any loosening raises.

    ``overrides`` maps a rule id to new parameter values and/or ``enabled``. Stricter means:
    a lower ``max``, longer ``days``/``lost_after_days``, a higher ``min``, a quiet window
    that contains the old one, fewer accepted opt-out markers, or enabling a rule.
    """
    p = get_pack(pack, playbook)
    rules = []
    known = {r.id for r in p.rules}
    for rid in overrides:
        if rid not in known:
            raise UnknownKeyError(f"{p.id} rule", rid, known)
    for r in p.rules:
        o = dict(overrides.get(r.id, {}))
        enabled = o.pop("enabled", r.enabled)
        if r.enabled and not enabled:
            raise ComplianceConfigError(f"{p.id}: disabling {r.id} would loosen the pack ({r.source})")
        params = dict(r.params)
        for k, v in o.items():
            if k not in CHECK_PARAMS[r.check].model_fields:
                raise ComplianceConfigError(f"{p.id}: rule {r.id} has no parameter {k!r}; "
                                            f"known: {', '.join(CHECK_PARAMS[r.check].model_fields) or '(none)'}")
            old = params.get(k)
            looser = False
            if k in _STRICTER:
                looser = v > old if _STRICTER[k] == "le" else v < old
            elif k in ("start", "end"):
                s_old, e_old = _hhmm(params["start"]), _hhmm(params["end"])
                new = {**params, k: v}
                quiet_new = _in_quiet(np.arange(1440), _hhmm(new["start"]), _hhmm(new["end"]))
                quiet_old = _in_quiet(np.arange(1440), s_old, e_old)
                looser = bool((quiet_old & ~quiet_new).any())
            elif k == "markers":
                looser = not set(map(str.lower, v)) <= set(map(str.lower, old))
            if looser:
                raise ComplianceConfigError(f"{p.id}: setting {r.id}.{k} from {old!r} to {v!r} would loosen the rule "
                                            f"({r.source}); packs may only be tightened")
            params[k] = v
        rules.append(r.model_copy(update={"params": params, "enabled": enabled}))
    return p.model_copy(update={"rules": rules})


# ------------------------------------------------------------------------ results


@dataclass
class ComplianceResult:
    """Violations found, one per violating interaction and rule, plus a per-rule summary."""

    pack: Pack
    violations: pd.DataFrame
    checked: int
    not_checkable: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return len(self.violations) == 0

    @property
    def summary(self) -> pd.DataFrame:
        rows = []
        for r in self.pack.rules:
            if not r.enabled:
                continue
            v = self.violations[self.violations["rule"] == r.id]
            rows.append({"rule": r.id, "violations": len(v), "accounts": int(v["account_id"].nunique()),
                         "text_zh": r.text.zh, "text_en": r.text.en, "source": r.source,
                         "checked_in_logs": r.check not in ("policy", "forbearance", "vulnerable_path"),
                         "verified": r.verified})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        v = self.violations
        return {
            "pack": self.pack.id, "interactions_checked": self.checked,
            "violations": [{"rule": r.rule, "account_id": r.account_id, "ts": r.ts, "detail": r.detail,
                            "source": r.source} for r in v.itertuples(index=False)],
            "summary": {s["rule"]: {k: s[k] for k in ("violations", "accounts", "text_zh", "text_en", "source",
                                                     "checked_in_logs", "verified")}
                        for s in self.summary.to_dict(orient="records")},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)


def check_compliance(data: Portfolio | pd.DataFrame, pack: str | Pack = "cn", *, plan: pd.DataFrame | None = None,
                     accounts: pd.DataFrame | None = None, playbook: Playbook | None = None) -> ComplianceResult:
    """Check a contact log, or a proposed contact plan, against a rule pack.

    Parameters
    ----------
    data : Portfolio or DataFrame
        A portfolio (its interactions are checked, with account time zones), or an
        interactions frame in the canonical columns.
    pack : {"cn", "us", "uk"} or Pack
        The rule pack, possibly tightened with :func:`tighten`.
    plan : DataFrame, optional
        Proposed contacts (same columns, future timestamps). When given, the history in
        ``data`` is context (e.g. for 7-day windows) and only the plan's own rows are
        reported.
    accounts : DataFrame, optional
        Account table for time zones when ``data`` is a bare interactions frame.

    Returns
    -------
    ComplianceResult
        ``violations`` has ``rule``, ``account_id``, ``ts`` (debtor local time),
        ``detail``, ``source`` and ``row`` (position in the checked frame or plan).
    """
    pb = playbook or load_playbook()
    p = get_pack(pack, pb)
    if isinstance(data, Portfolio):
        it, accounts = data.interactions, data.accounts
    else:
        it = data
    if plan is not None:
        it = pd.concat([it.assign(_planned=False), plan.assign(_planned=True)], ignore_index=True)
    ev = _prepare(it, accounts, p, pb)
    parts = [CHECKS[r.check](ev, r) for r in p.rules if r.enabled]
    v = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["rule", "row", "account_id", "ts", "detail", "source", "planned"])
    if plan is not None:
        v = v[v["planned"].astype(bool)].copy()
        v["row"] = v["row"] - (len(it) - len(plan))
    v = v.sort_values(["account_id", "row", "rule"], kind="stable").drop(columns=["planned"]).reset_index(drop=True)
    not_checkable = [r.id for r in p.rules if r.enabled and r.check in ("policy", "forbearance", "vulnerable_path")]
    return ComplianceResult(p, v, checked=len(plan) if plan is not None else len(it), not_checkable=not_checkable)


# ------------------------------------------------------------------------ headroom


def headroom(portfolio: Portfolio, now: str | pd.Timestamp, pack: str | Pack = "cn", *,
             playbook: Playbook | None = None) -> pd.DataFrame:
    """How many more contacts each channel allows today, per account, and when the next
    permitted window opens.

    Parameters
    ----------
    now : timestamp
        The moment to plan from; a naive value is read in the pack's default time zone.

    Returns
    -------
    DataFrame
        One row per account: ``timezone``, ``local_now``, ``window_open_now``,
        ``next_window_opens`` (debtor local time), ``calls_left_today``, ``sms_left_today``,
        ``email_left_today`` (``<NA>`` = no count limit in this pack, 0 = none allowed) and
        ``blocked_by`` (rule ids that leave no call today).
    """
    pb = playbook or load_playbook()
    p = get_pack(pack, pb)
    now = pd.Timestamp(now)
    if now.tzinfo is None:
        now = now.tz_localize(p.default_timezone)
    now_s = int(now.tz_convert("UTC").timestamp())
    acc = portfolio.accounts
    ids = acc["account_id"]
    n = len(acc)
    tz = _zones(acc, ids, p.default_timezone).to_numpy()
    it = portfolio.interactions
    past = it[it["ts"] <= now.tz_convert("UTC")]
    ev = _prepare(past, acc, p, pb).frame if len(past) else None
    pos = codes_of(ev["account_id"].astype(str), ids) if ev is not None else np.array([], dtype="int64")
    now_min = np.zeros(n, dtype="int64")
    today = np.zeros(n, dtype="int64")
    for zone in pd.unique(tz):
        m = tz == zone
        ln = now.tz_convert(zone)
        now_min[m] = ln.hour * 60 + ln.minute
        today[m] = np.datetime64(ln.tz_localize(None).normalize(), "D").astype("int64")
    calls = np.full(n, np.inf)
    sms = np.full(n, np.inf)
    email = np.full(n, np.inf)
    blocked: dict[str, np.ndarray] = {}
    window_open = np.ones(n, dtype=bool)
    not_before = np.full(n, now_s, dtype="int64")

    def block(mask: np.ndarray, rid: str) -> None:
        blocked[rid] = blocked.get(rid, np.zeros(n, dtype=bool)) | mask

    for r in (r for r in p.rules if r.enabled):
        if r.check == "quiet_hours":
            s, e = _hhmm(r.params["start"]), _hhmm(r.params["end"])
            window_open &= ~_in_quiet(now_min, s, e)
            continue
        if ev is None:
            continue
        e_today = ev["day"].to_numpy() == today[pos]
        if r.check == "daily_unanswered_calls":
            used = np.bincount(pos[(ev["is_call"] & ~ev["is_contact"]).to_numpy() & e_today], minlength=n)
            calls = np.minimum(calls, np.maximum(r.params["max"] - used, 0))
        elif r.check == "daily_connected_calls":
            used = np.bincount(pos[(ev["is_call"] & ev["is_contact"]).to_numpy() & e_today], minlength=n)
            calls = np.minimum(calls, np.maximum(r.params["max"] - used, 0))
        elif r.check == "rolling_calls":
            recent = ev["is_call"].to_numpy() & (ev["t"].to_numpy() > now_s - r.params["days"] * _S_DAY)
            used = np.bincount(pos[recent], minlength=n)
            left = np.maximum(r.params["max"] - used, 0)
            calls = np.minimum(calls, left)
            block(left == 0, r.id)
        elif r.check == "after_conversation":
            conv = ev["is_conversation"].to_numpy()
            last = np.full(n, -1, dtype="int64")
            np.maximum.at(last, pos[conv], ev["t"].to_numpy()[conv])
            until = last + r.params["days"] * _S_DAY
            hit = (last >= 0) & (until > now_s)
            calls = np.where(hit, 0, calls)
            not_before = np.where(hit, np.maximum(not_before, until), not_before)
            block(hit, r.id)
        elif r.check == "honour_channel_stop":
            stop = (ev["outcome"] == "opt_out").to_numpy()
            for ch, arr in (("call", calls), ("sms", sms), ("email", email)):
                m = stop & (ev["channel"] == ch).to_numpy()
                hit = np.bincount(pos[m], minlength=n) > 0
                arr[hit] = 0
                if ch == "call":
                    block(hit, r.id)
    for arr in (calls, sms, email):
        arr[~window_open] = 0
    block(~window_open, next((r.id for r in p.rules if r.check == "quiet_hours" and r.enabled), "quiet_hours"))

    quiet = [(_hhmm(r.params["start"]), _hhmm(r.params["end"])) for r in p.rules
             if r.enabled and r.check == "quiet_hours"]
    opens_s = np.maximum(not_before, now_s)
    next_open = np.empty(n, dtype=object)
    for zone in pd.unique(tz):
        m = tz == zone
        local = pd.Series(pd.to_datetime(opens_s[m], unit="s", utc=True)).dt.tz_convert(zone)
        for _ in range(2):  # a window may only open after another rule's wait: re-check once
            minute = (local.dt.hour * 60 + local.dt.minute).to_numpy()
            for qs, qe in quiet:
                inq = _in_quiet(minute, qs, qe)
                wait = np.where(minute >= qe, qe + 1440 - minute, qe - minute) if qs > qe else qe - minute
                local = local + pd.to_timedelta(np.where(inq, wait, 0), unit="m")
                local = local.where(~inq, local.dt.floor("min"))
        next_open[m] = (local.dt.strftime("%Y-%m-%d %H:%M") + f" {zone}").to_numpy()

    def limit(a: np.ndarray) -> pd.arrays.IntegerArray:
        return pd.arrays.IntegerArray(np.where(np.isinf(a), 0, a).astype("int64"), np.isinf(a))

    return pd.DataFrame({
        "account_id": ids.to_numpy(), "timezone": tz, "window_open_now": window_open,
        "next_window_opens": next_open, "calls_left_today": limit(calls), "sms_left_today": limit(sms),
        "email_left_today": limit(email), "blocked_by": _join_flags(blocked, n),
    })


def _join_flags(flags: dict[str, np.ndarray], n: int) -> np.ndarray:
    """``"a;b"`` per row from one boolean array per label (vectorised)."""
    out = np.full(n, "", dtype=object)
    for label, mask in flags.items():
        out = np.where(mask, np.where(out == "", label, out + ";" + label), out)
    return out


# ------------------------------------------------------------------------ lint


def lint_text(text: str, playbook: Playbook | None = None) -> list[dict]:
    """Prohibited practices a script or message uses, by their bilingual text markers.

    Returns one item per practice found: ``practice``, ``marker``, ``name_zh``, ``name_en``,
    ``why`` (en) and ``sources``.
    """
    pb = playbook or load_playbook()
    low = (text or "").lower()
    found = []
    for practice in pb.prohibited:
        for marker in (m for ms in practice.markers.values() for m in ms):
            if marker.lower() in low:
                found.append({"practice": practice.id, "marker": marker, "name_zh": practice.name.zh,
                              "name_en": practice.name.en, "why": practice.why_forbidden.en,
                              "sources": [s.citation for s in practice.sources]})
                break
    return found


@dataclass
class Verdict:
    """Whether a strategy may be used under a pack, and the rules it breaks."""

    pack: str
    admissible: bool
    violations: list[dict]

    def to_dict(self) -> dict:
        return {"pack": self.pack, "admissible": self.admissible, "violations": self.violations}


def strategy_verdict(strategy: Mapping[str, Any], pack: str | Pack = "cn", *,
                     playbook: Playbook | None = None) -> Verdict:
    """Check a strategy's treatments against a pack before anything is simulated or sent.

    A strategy is ``{"name", "rules": [{"when": ..., "treatment": {...}}, ...]}``. A
    treatment may give ``call_window`` (["09:00", "20:00"]), ``attempts_per_week``,
    ``attempts_per_day``, ``pause_after_contact_days``, ``third_party`` (``{"purpose":
    "locate" | "pay", "only_when_lost": bool}``), ``visit_staff``, ``sms_text``, ``script``
    and ``offer``. Every problem names the rule and its legal source; a script or message
    that uses a prohibited practice is refused whatever the pack.
    """
    pb = playbook or load_playbook()
    p = get_pack(pack, pb)
    out: list[dict] = []
    rules = list(strategy.get("rules", []))

    def add(rule_id: str, source: str, where: str, detail: str) -> None:
        out.append({"rule": rule_id, "where": where, "detail": detail, "source": source})

    for i, item in enumerate(rules):
        tr = dict(item.get("treatment", {}))
        where = f"rules[{i}] (when: {item.get('when', 'True')})"
        for field_name in ("script", "sms_text"):
            for hit in lint_text(tr.get(field_name, ""), pb):
                add(f"prohibited:{hit['practice']}", "; ".join(hit["sources"]), where,
                    f"{field_name} uses a prohibited practice ({hit['name_en']}): \u201c{hit['marker']}\u201d. {hit['why']}")
        tp = tr.get("third_party")
        if tp and tp.get("purpose", "locate") != "locate":
            practice = next(x for x in pb.prohibited if x.id == "pressing_relatives")
            add("prohibited:pressing_relatives", "; ".join(s.citation for s in practice.sources), where,
                f"third parties may only be asked for contact details, not to pay ({practice.why_forbidden.en})")
        for r in (r for r in p.rules if r.enabled):
            prm = r.params
            if r.check == "quiet_hours" and tr.get("call_window"):
                s, e = _hhmm(prm["start"]), _hhmm(prm["end"])
                w0, w1 = _hhmm(tr["call_window"][0]), _hhmm(tr["call_window"][1])
                minutes = np.arange(w0, w1 if w1 > w0 else w1 + 1440) % 1440
                if _in_quiet(minutes, s, e).any():
                    add(r.id, r.source, where, f"calls scheduled {tr['call_window'][0]}-{tr['call_window'][1]} fall in "
                        f"the quiet hours {prm['start']}-{prm['end']}: {r.text.en}")
            elif r.check in ("daily_unanswered_calls", "daily_connected_calls") and tr.get("attempts_per_day", 0) > prm["max"]:
                add(r.id, r.source, where, f"{tr['attempts_per_day']} call attempts a day exceed {prm['max']}: {r.text.en}")
            elif r.check == "rolling_calls" and tr.get("attempts_per_week", 0) * prm["days"] / 7 > prm["max"]:
                add(r.id, r.source, where, f"{tr['attempts_per_week']} calls a week exceed {prm['max']} in {prm['days']} days: {r.text.en}")
            elif r.check == "after_conversation" and tr.get("attempts_per_week", 0) > 1 \
                    and tr.get("pause_after_contact_days", 0) < prm["days"]:
                add(r.id, r.source, where, f"{tr['attempts_per_week']} calls a week without a {prm['days']}-day pause after "
                    f"a conversation: {r.text.en}")
            elif r.check == "third_party_when_lost" and tp and not tp.get("only_when_lost", False):
                add(r.id, r.source, where, f"third-party contact not limited to lost debtors: {r.text.en}")
            elif r.check == "visit_staff" and "visit" in tr.get("channels", []) and tr.get("visit_staff", 0) < prm["min"]:
                add(r.id, r.source, where, f"field visits with {tr.get('visit_staff', 0)} staff (at least {prm['min']}): {r.text.en}")
            elif r.check == "opt_out_in_messages" and tr.get("sms_text") and not any(
                    m.lower() in tr["sms_text"].lower() for m in prm["markers"]):
                add(r.id, r.source, where, f"SMS text carries no opt-out notice: {r.text.en}")
    for r in (r for r in p.rules if r.enabled):
        if r.check == "forbearance" and not any((x.get("treatment", {}).get("offer") or {}).get("type", "none") != "none"
                                                 for x in rules):
            add(r.id, r.source, "strategy", f"no treatment offers forbearance: {r.text.en}")
        if r.check == "vulnerable_path" and not any("vulnerable" in str(x.get("when", "")) for x in rules):
            add(r.id, r.source, "strategy", f"no separate rule for vulnerable customers: {r.text.en}")
    return Verdict(p.id, not out, out)
