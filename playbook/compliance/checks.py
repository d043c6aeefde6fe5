"""The built-in check types, one class each, registered when the package is imported."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pandas as pd
from pydantic import Field

from ..arrays import previous_time
from ..content import PackRule
from .events import MESSAGE_CHANNELS, S_DAY, Events, hhmm, in_daily_window
from .lint import find_markers, scan_prohibited
from .registry import CheckParams, CheckType, register_check

if TYPE_CHECKING:
    from ..strategy import StrategyRules, Treatment
    from .room import Room

__all__ = ["QuietHours", "DailyUnansweredCalls", "DailyConnectedCalls", "RollingCalls", "AfterConversation",
           "ThirdPartyWhenLost", "ThirdPartyOncePerPerson", "OptOutInMessages", "HonourChannelStop", "VisitStaff",
           "ProhibitedLanguage", "Policy", "Forbearance", "VulnerablePath"]

_CLOCK = r"^([01]\d|2[0-3]):[0-5]\d$"


class Clock(CheckParams):
    start: str = Field(pattern=_CLOCK)
    end: str = Field(pattern=_CLOCK)


class Max(CheckParams):
    max: int = Field(ge=0)


class Rolling(CheckParams):
    max: int = Field(ge=0)
    days: int = Field(ge=1)


class Days(CheckParams):
    days: int = Field(ge=1)


class Lost(CheckParams):
    lost_after_days: int = Field(ge=1)


class MinStaff(CheckParams):
    min: int = Field(ge=1)


class Markers(CheckParams):
    markers: list[str] = Field(min_length=1)


def _nth_in_group(f: pd.DataFrame, mask: np.ndarray, keys: list[str]) -> np.ndarray:
    """1-based running count of ``mask`` events within each group of ``keys`` (time order)."""
    n = np.zeros(len(f), dtype="int64")
    if mask.any():
        sub = f.loc[mask, keys]
        n[mask] = sub.groupby(keys, sort=False, dropna=False).cumcount().to_numpy() + 1
    return n


@register_check
class QuietHours(CheckType):
    """No outbound contact between ``start`` and ``end``, debtor local time."""

    name = "quiet_hours"
    Params = Clock

    def find(self, events: Events, rule: PackRule, params: Clock) -> pd.DataFrame:
        f = events.frame
        hit = f["outbound"].to_numpy() & in_daily_window(f["minute"].to_numpy(), hhmm(params.start), hhmm(params.end))
        allowed = f"; contact is allowed {params.end}-{params.start} local time"
        return events.violations(rule, hit, lambda i: events.values("channel", i) + " at " + events.local(i) + allowed)

    def limit(self, room: "Room", rule: PackRule, params: Clock) -> None:
        room.close_daily(rule.id, hhmm(params.start), hhmm(params.end))

    def treatment_problems(self, treatment: "Treatment", rule: PackRule, params: Clock) -> list[str]:
        if not treatment.call_window:
            return []
        w0, w1 = (hhmm(x) for x in treatment.call_window)
        minutes = np.arange(w0, w1 if w1 > w0 else w1 + 1440) % 1440
        if not in_daily_window(minutes, hhmm(params.start), hhmm(params.end)).any():
            return []
        return [f"calls scheduled {treatment.call_window[0]}-{treatment.call_window[1]} fall in the quiet hours "
                f"{params.start}-{params.end}: {rule.text.en}"]

    def loosened(self, old: Clock, new: Clock) -> list[str]:
        day = np.arange(1440)
        was = in_daily_window(day, hhmm(old.start), hhmm(old.end))
        now = in_daily_window(day, hhmm(new.start), hhmm(new.end))
        if not (was & ~now).any():
            return []
        return [k for k in ("start", "end") if getattr(old, k) != getattr(new, k)]


class _DailyCalls(CheckType):
    stricter = {"max": "lower"}
    Params = Max
    connected: ClassVar[bool]

    def _counted(self, f: pd.DataFrame) -> np.ndarray:
        answered = f["is_contact"].to_numpy()
        return f["is_call"].to_numpy() & (answered if self.connected else ~answered)

    def limit(self, room: "Room", rule: PackRule, params: Max) -> None:
        used = room.per_account(self._counted(room.events) & room.on_today)
        room.cap("call", np.maximum(params.max - used, 0))

    def treatment_problems(self, treatment: "Treatment", rule: PackRule, params: Max) -> list[str]:
        if treatment.attempts_per_day <= params.max:
            return []
        return [f"{treatment.attempts_per_day} call attempts a day exceed {params.max}: {rule.text.en}"]


@register_check
class DailyUnansweredCalls(_DailyCalls):
    """At most ``max`` unanswered outbound calls a day to the same number."""

    name = "daily_unanswered_calls"
    connected = False

    def find(self, events: Events, rule: PackRule, params: Max) -> pd.DataFrame:
        f = events.frame.assign(number=events.frame["contact_ref"].fillna(events.frame["party"]))
        mask = self._counted(f)
        nth = _nth_in_group(f, mask, ["acc", "number", "day"])
        return events.violations(rule, mask & (nth > params.max), lambda i: [
            f"unanswered call attempt no. {k} today to the same number (limit {params.max})" for k in nth[i]])


@register_check
class DailyConnectedCalls(_DailyCalls):
    """At most ``max`` connected outbound calls per debtor a day."""

    name = "daily_connected_calls"
    connected = True

    def find(self, events: Events, rule: PackRule, params: Max) -> pd.DataFrame:
        f = events.frame
        mask = self._counted(f)
        nth = _nth_in_group(f, mask, ["acc", "day"])
        return events.violations(rule, mask & (nth > params.max), lambda i: [
            f"connected call no. {k} today (limit {params.max}; unverified rule)" for k in nth[i]])


@register_check
class RollingCalls(CheckType):
    """At most ``max`` outbound calls within any ``days`` consecutive days."""

    name = "rolling_calls"
    Params = Rolling
    stricter = {"max": "lower", "days": "higher"}

    def find(self, events: Events, rule: PackRule, params: Rolling) -> pd.DataFrame:
        f = events.frame
        idx = np.flatnonzero(f["is_call"].to_numpy())
        count = np.zeros(len(f), dtype="int64")
        if len(idx):
            key = f["acc"].to_numpy()[idx].astype("int64") * (np.int64(1) << 40) + f["t"].to_numpy()[idx]
            first = np.searchsorted(key, key - params.days * S_DAY, side="right")
            count[idx] = np.arange(len(idx)) - first + 1
        return events.violations(rule, count > params.max, lambda i: [
            f"call no. {k} within {params.days} days (limit {params.max})" for k in count[i]])

    def limit(self, room: "Room", rule: PackRule, params: Rolling) -> None:
        ev = room.events
        recent = ev["is_call"].to_numpy() & (ev["t"].to_numpy() > room.now_s - params.days * S_DAY)
        left = np.maximum(params.max - room.per_account(recent), 0)
        room.cap("call", left)
        room.block(left == 0, rule.id)

    def treatment_problems(self, treatment: "Treatment", rule: PackRule, params: Rolling) -> list[str]:
        if treatment.attempts_per_week * params.days / 7 <= params.max:
            return []
        return [f"{treatment.attempts_per_week} calls a week exceed {params.max} in {params.days} days: {rule.text.en}"]


@register_check
class AfterConversation(CheckType):
    """No outbound call within ``days`` days after a telephone conversation."""

    name = "after_conversation"
    Params = Days
    stricter = {"days": "higher"}

    def find(self, events: Events, rule: PackRule, params: Days) -> pd.DataFrame:
        f = events.frame
        prev = previous_time(f["acc"].to_numpy(), f["t"].to_numpy(), f["is_conversation"].to_numpy())
        gap = f["t"].to_numpy() - prev
        hit = f["is_call"].to_numpy() & (prev >= 0) & (gap < params.days * S_DAY)
        return events.violations(rule, hit, lambda i: [
            f"call {g / S_DAY:.1f} days after a telephone conversation (wait {params.days} days)" for g in gap[i]])

    def limit(self, room: "Room", rule: PackRule, params: Days) -> None:
        last = room.last(room.events["is_conversation"].to_numpy())
        until = last + params.days * S_DAY
        room.wait((last >= 0) & (until > room.now_s), until, rule.id)

    def treatment_problems(self, treatment: "Treatment", rule: PackRule, params: Days) -> list[str]:
        if treatment.attempts_per_week <= 1 or treatment.pause_after_contact_days >= params.days:
            return []
        return [f"{treatment.attempts_per_week} calls a week without a {params.days}-day pause after a conversation: "
                f"{rule.text.en}"]


@register_check
class ThirdPartyWhenLost(CheckType):
    """Third parties only after ``lost_after_days`` days without reaching the debtor."""

    name = "third_party_when_lost"
    Params = Lost
    stricter = {"lost_after_days": "higher"}

    def find(self, events: Events, rule: PackRule, params: Lost) -> pd.DataFrame:
        f = events.frame
        reached = f["is_rpc"].to_numpy() & (f["party"] == "debtor").to_numpy()
        prev = previous_time(f["acc"].to_numpy(), f["t"].to_numpy(), reached)
        gap = f["t"].to_numpy() - prev
        reachable = (prev >= 0) & (gap < params.lost_after_days * S_DAY)
        hit = f["is_third_party"].to_numpy() & f["outbound"].to_numpy() & reachable
        return events.violations(rule, hit, lambda i: [
            f"third-party contact while the debtor was reachable (debtor reached {g / S_DAY:.1f} days earlier; third "
            f"parties only after {params.lost_after_days} days without reaching the debtor)" for g in gap[i]])

    def treatment_problems(self, treatment: "Treatment", rule: PackRule, params: Lost) -> list[str]:
        if treatment.third_party is None or treatment.third_party.only_when_lost:
            return []
        return [f"third-party contact not limited to lost debtors: {rule.text.en}"]


@register_check
class ThirdPartyOncePerPerson(CheckType):
    """At most ``max`` outbound contacts with the same third party."""

    name = "third_party_once_per_person"
    Params = Max
    stricter = {"max": "lower"}

    def find(self, events: Events, rule: PackRule, params: Max) -> pd.DataFrame:
        f = events.frame.assign(person=events.frame["contact_ref"].fillna(events.frame["party"]))
        mask = (f["is_third_party"] & f["outbound"]).to_numpy()
        nth = _nth_in_group(f, mask, ["acc", "person"])
        person = f["person"].to_numpy()
        return events.violations(rule, mask & (nth > params.max), lambda i: [
            f"contact no. {k} with the same third party {p} (at most {params.max}, for location information only)"
            for k, p in zip(nth[i], person[i])])


@register_check
class OptOutInMessages(CheckType):
    """Every outbound SMS and e-mail carries one of the opt-out ``markers``."""

    name = "opt_out_in_messages"
    Params = Markers
    stricter = {"markers": "fewer"}

    def find(self, events: Events, rule: PackRule, params: Markers) -> pd.DataFrame:
        f = events.frame
        sent = f["channel"].isin(MESSAGE_CHANNELS).to_numpy() & f["outbound"].to_numpy()
        msg = f["message"].to_numpy(dtype=object)
        has = np.zeros(len(f), dtype=bool)
        idx = np.flatnonzero(sent)
        has[idx] = find_markers(msg[idx], params.markers) >= 0
        return events.violations(rule, sent & ~has, lambda i: np.where(
            pd.Series(msg[i], dtype=object).fillna("").astype(str).to_numpy() == "",
            "message text not recorded: no evidence of an opt-out notice", "message carries no opt-out notice"))

    def treatment_problems(self, treatment: "Treatment", rule: PackRule, params: Markers) -> list[str]:
        if not treatment.sms_text or find_markers([treatment.sms_text], params.markers)[0] >= 0:
            return []
        return [f"SMS text carries no opt-out notice: {rule.text.en}"]


@register_check
class HonourChannelStop(CheckType):
    """No outbound contact on a channel after the debtor asked to stop it (``opt_out``)."""

    name = "honour_channel_stop"

    def find(self, events: Events, rule: PackRule, params: CheckParams) -> pd.DataFrame:
        f = events.frame
        stops = f[f["outcome"] == "opt_out"].groupby(["acc", "channel"], observed=True)["t"].min()
        if stops.empty:
            return events.violations(rule, np.zeros(len(f), dtype=bool), "")
        first = pd.Series(pd.MultiIndex.from_frame(f[["acc", "channel"]]).map(stops.to_dict().get), dtype="float64")
        hit = f["outbound"].to_numpy() & (f["t"].to_numpy() > first.fillna(np.inf).to_numpy())
        return events.violations(rule, hit, lambda i: events.values("channel", i)
                                 + " used after the debtor asked to stop this channel")

    def limit(self, room: "Room", rule: PackRule, params: CheckParams) -> None:
        ev = room.events
        stop = (ev["outcome"] == "opt_out").to_numpy()
        for ch in room.left:
            hit = room.per_account(stop & (ev["channel"] == ch).to_numpy()) > 0
            room.cap(ch, np.where(hit, 0, np.inf))
            if ch == "call":
                room.block(hit, rule.id)


@register_check
class VisitStaff(CheckType):
    """Field visits by at least ``min`` staff."""

    name = "visit_staff"
    Params = MinStaff
    stricter = {"min": "higher"}

    def find(self, events: Events, rule: PackRule, params: MinStaff) -> pd.DataFrame:
        f = events.frame
        staff = f["staff_count"].to_numpy()
        hit = (f["channel"] == "visit").to_numpy() & f["outbound"].to_numpy() & ~(staff >= params.min)
        return events.violations(rule, hit, lambda i: [
            f"field visit without a recorded staff count (at least {params.min} staff)" if np.isnan(k)
            else f"field visit by {int(k)} staff (at least {params.min})" for k in staff[i]])

    def treatment_problems(self, treatment: "Treatment", rule: PackRule, params: MinStaff) -> list[str]:
        if "visit" not in treatment.channels or treatment.visit_staff >= params.min:
            return []
        return [f"field visits with {treatment.visit_staff} staff (at least {params.min}): {rule.text.en}"]


@register_check
class ProhibitedLanguage(CheckType):
    """No message uses a prohibited practice (``prohibited.yaml`` markers)."""

    name = "prohibited_language"

    def find(self, events: Events, rule: PackRule, params: CheckParams) -> pd.DataFrame:
        f = events.frame
        msg = f["message"].to_numpy(dtype=object)
        has = np.flatnonzero(pd.notna(msg))
        hits = scan_prohibited(msg[has], events.playbook).drop_duplicates("pos")
        rows = has[hits["pos"].to_numpy()]
        practices = events.playbook.prohibited
        head = np.array([f"prohibited practice '{p.id}' ({p.name.en}): \u201c" for p in practices] + [""], dtype=object)
        tail = np.array([f"\u201d; source: {p.sources[0].citation}" for p in practices] + [""], dtype=object)
        k = hits["practice"].to_numpy()
        hit = np.zeros(len(f), dtype=bool)
        hit[rows] = True
        detail = np.full(len(f), "", dtype=object)
        detail[rows] = head[k] + hits["marker"].to_numpy(dtype=object) + tail[k]
        return events.violations(rule, hit, lambda i: detail[i])


class _NotInLogs(CheckType):
    checkable = False


@register_check
class Policy(_NotInLogs):
    """An organisational duty (e.g. keeping records): nothing to check in logs or strategies."""

    name = "policy"


@register_check
class Forbearance(_NotInLogs):
    """At least one treatment of a strategy offers forbearance."""

    name = "forbearance"

    def strategy_problems(self, strategy: "StrategyRules", rule: PackRule, params: CheckParams) -> list[str]:
        if any(r.treatment.offer.type != "none" for r in strategy.rules):
            return []
        return [f"no treatment offers forbearance: {rule.text.en}"]


@register_check
class VulnerablePath(_NotInLogs):
    """A strategy has a rule of its own for vulnerable customers (its ``when`` reads ``vulnerable``)."""

    name = "vulnerable_path"

    def strategy_problems(self, strategy: "StrategyRules", rule: PackRule, params: CheckParams) -> list[str]:
        if any("vulnerable" in r.expression.names for r in strategy.rules):
            return []
        return [f"no separate rule for vulnerable customers: {rule.text.en}"]
