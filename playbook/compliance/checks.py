"""The built-in check types, one class each, registered when the package is imported."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pandas as pd
from pydantic import Field

from ..arrays import previous_time
from ..content import PackRule, Playbook
from .events import MESSAGE_CHANNELS, S_DAY, Events, hhmm, in_daily_window
from .lint import find_markers, practice_citation, scan_prohibited
from .registry import CheckParams, CheckType, register_check

if TYPE_CHECKING:
    from ..strategy import StrategyRules, Treatment
    from .room import Room

__all__ = ["QuietHours", "DailyUnansweredCalls", "DailyConnectedCalls", "RollingCalls", "AfterConversation",
           "ThirdPartyWhenLost", "ThirdPartyOncePerPerson", "ThirdPartyObjection", "NoDisclosureBeforeIdentity",
           "OptOutInMessages", "HonourChannelStop", "VisitStaff", "ProhibitedLanguage", "Policy", "Forbearance",
           "VulnerablePath", "AppraisalNotOnlyRecovered"]

_CLOCK = r"^([01]\d|2[0-3]):[0-5]\d$"


class Clock(CheckParams):
    """A daily quiet window ``start``-``end`` (``HH:MM``, local time; may wrap midnight)."""

    start: str = Field(pattern=_CLOCK)
    end: str = Field(pattern=_CLOCK)


class Max(CheckParams):
    """At most ``max`` events."""

    max: int = Field(ge=0)


class Rolling(CheckParams):
    """At most ``max`` events within any ``days`` consecutive days."""

    max: int = Field(ge=0)
    days: int = Field(ge=1)


class Days(CheckParams):
    """A span of ``days`` days."""

    days: int = Field(ge=1)


class Pause(CheckParams):
    """``consent_days``: a call within the pause is allowed when the debtor consented to calls
    in the ``consent_days`` days before it (None: consent does not lift the pause)."""

    days: int = Field(ge=1)
    consent_days: int | None = Field(default=None, ge=1)


class Lost(CheckParams):
    """The debtor counts as lost after ``lost_after_days`` days without a right-party contact."""

    lost_after_days: int = Field(ge=1)


class MinStaff(CheckParams):
    """At least ``min`` staff on a field visit."""

    min: int = Field(ge=1)


class Markers(CheckParams):
    """Text markers, any of which must appear (case-insensitive)."""

    markers: list[str] = Field(min_length=1)


class Jurisdiction(CheckParams):
    """``jurisdiction``: the pack whose sources a prohibited practice is cited with, and which
    practices count (those unlawful there); None: every practice, with all its sources."""

    jurisdiction: str | None = None


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
        f = events.frame
        mask = self._counted(f)
        nth = _nth_in_group(f, mask, ["acc", "person", "day"])
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
    """No outbound call within ``days`` days after a telephone conversation, unless the debtor
    consented to calls in the ``consent_days`` days before the call (``consent`` column of the
    contact log, or the account's ``consent_channels``/``consent_at``)."""

    name = "after_conversation"
    Params = Pause
    stricter = {"days": "higher", "consent_days": "lower"}

    def loosened(self, old: Pause, new: Pause) -> list[str]:
        out = [k for k in super().loosened(old.model_copy(update={"consent_days": 0}),
                                           new.model_copy(update={"consent_days": 0}))]
        a, b = old.consent_days, new.consent_days
        if a != b and (a is None or (b is not None and b > a)):
            out.append("consent_days")
        return out

    @staticmethod
    def _consented(f: pd.DataFrame, params: Pause) -> np.ndarray:
        if params.consent_days is None:
            return np.zeros(len(f), dtype=bool)
        t = f["t"].to_numpy()
        given = f["consent_call"].to_numpy(dtype=bool)
        prev = previous_time(f["acc"].to_numpy(), t, given)
        prev = np.where(given, t, prev)  # consent given in this very contact counts too
        at = f["consent_call_at"].to_numpy()
        window = params.consent_days * S_DAY
        return ((prev >= 0) & (t - prev < window)) | ((at >= 0) & (at <= t) & (t - at < window))

    def find(self, events: Events, rule: PackRule, params: Pause) -> pd.DataFrame:
        f = events.frame
        prev = previous_time(f["acc"].to_numpy(), f["t"].to_numpy(), f["is_conversation"].to_numpy())
        gap = f["t"].to_numpy() - prev
        hit = f["is_call"].to_numpy() & (prev >= 0) & (gap < params.days * S_DAY) & ~self._consented(f, params)
        return events.violations(rule, hit, lambda i: [
            f"call {g / S_DAY:.1f} days after a telephone conversation without recorded consent (wait {params.days} "
            f"days): {rule.text.en}" for g in gap[i]])

    def limit(self, room: "Room", rule: PackRule, params: Pause) -> None:
        ev = room.events
        last = room.last(ev["is_conversation"].to_numpy())
        until = last + params.days * S_DAY
        if params.consent_days is not None:
            given = room.last(ev["consent_call"].to_numpy(dtype=bool))
            acc_at = np.full(room.n, -1, dtype="int64")
            np.maximum.at(acc_at, room.pos, np.where(ev["consent_call_at"].to_numpy() <= room.now_s,
                                                     ev["consent_call_at"].to_numpy(), -1))
            latest = np.maximum(given, acc_at)
            ok = (latest >= 0) & (room.now_s - latest < params.consent_days * S_DAY)
            until = np.where(ok, -1, until)
        room.wait((last >= 0) & (until > room.now_s), until, rule.id)

    def treatment_problems(self, treatment: "Treatment", rule: PackRule, params: Pause) -> list[str]:
        out = []
        if treatment.attempts_per_week > 1 and treatment.pause_after_contact_days < params.days:
            out.append(f"{treatment.attempts_per_week} calls a week without a {params.days}-day pause after a "
                       f"conversation: {rule.text.en}")
        r = treatment.reminder  # always close to the conversation that made the promise
        if r is not None and (not r.only_with_consent or params.consent_days is None):
            why = "made without the debtor's consent" if not r.only_with_consent else "and this pack lets no consent lift the pause"
            out.append(f"reminder calls {r.minutes_before} minutes before a promise fall within {params.days} days "
                       f"after the conversation that made it, {why}: {rule.text.en}")
        return out

    def content_problems(self, playbook: Playbook, rule: PackRule, params: Pause) -> list[tuple[str, str]]:
        """Reminder tactics in the taxonomy must say they need the debtor's consent."""
        out = []
        for where, text in taught_texts(playbook, kinds=("tactic", "opener", "dialogue")):
            low = (text.zh + " " + text.en).lower()
            if any(m in low for m in REMINDER_MARKERS) and not any(m in low for m in CONSENT_MARKERS):
                out.append((where, f"a reminder call shortly before a promise needs the debtor's consent: {rule.text.en}"))
        return out


REMINDER_MARKERS = ("到期前提醒", "提前提醒", "前打电话提醒", "前致电提醒", "reminder call", "call shortly before",
                    "call before the promised", "call just before")
CONSENT_MARKERS = ("同意", "consent")


def taught_texts(playbook: Playbook, kinds: tuple[str, ...] = ("tactic", "opener", "dialogue", "cue")) -> list[tuple[str, "object"]]:
    """Every text the taxonomy teaches, as ``(where, Text)``: tactics, openers, dialogue lines, cues."""
    out = []
    for did, dim in playbook.dimensions.items():
        if did == "team":
            continue
        for c in dim.categories:
            base = f"taxonomy/{did}.yaml {c.id}"
            if "tactic" in kinds:
                out += [(f"{base} tactics[{i}]", t) for i, t in enumerate(c.tactics)]
            if "opener" in kinds and c.opening_line is not None:
                out.append((f"{base} opening_line", c.opening_line))
            if "dialogue" in kinds:
                out += [(f"{base} dialogue[{i}]", d.text) for i, d in enumerate(c.dialogue) if d.speaker == "collector"]
            if "cue" in kinds:
                out += [(f"{base} cues[{i}]", t) for i, t in enumerate(c.cues)]
    return out


@register_check
class ThirdPartyWhenLost(CheckType):
    """Third parties only after ``lost_after_days`` days without reaching the debtor."""

    name = "third_party_when_lost"
    Params = Lost
    stricter = {"lost_after_days": "higher"}

    def defaults(self, playbook: Playbook) -> dict:
        return {"lost_after_days": playbook.settings.lost_after_days}

    def find(self, events: Events, rule: PackRule, params: Lost) -> pd.DataFrame:
        f = events.frame
        reached = f["is_rpc"].to_numpy() & (f["party"] == "debtor").to_numpy()
        prev = previous_time(f["acc"].to_numpy(), f["t"].to_numpy(), reached)
        gap = f["t"].to_numpy() - prev
        reachable = (prev >= 0) & (gap < params.lost_after_days * S_DAY)
        hit = f["is_third_party"].to_numpy() & f["outbound"].to_numpy() & reachable
        return events.violations(rule, hit, lambda i: [
            f"contact aimed at a third party while the debtor was reachable (debtor reached {g / S_DAY:.1f} days "
            f"earlier; lost after {params.lost_after_days} days without reaching the debtor): {rule.text.en}"
            for g in gap[i]])

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
        f = events.frame
        mask = (f["is_third_party"] & f["outbound"]).to_numpy()
        nth = _nth_in_group(f, mask, ["acc", "person"])
        person = f["person"].to_numpy()
        return events.violations(rule, mask & (nth > params.max), lambda i: [
            f"contact no. {k} with the same third party {p} (at most {params.max}, for location information only)"
            for k, p in zip(nth[i], person[i])])


@register_check
class ThirdPartyObjection(CheckType):
    """No more contact aimed at a third party after that person objected (outcome ``opt_out``)."""

    name = "third_party_objection"

    def find(self, events: Events, rule: PackRule, params: CheckParams) -> pd.DataFrame:
        f = events.frame
        tp = f["is_third_party"].to_numpy()
        objected = tp & (f["outcome"] == "opt_out").to_numpy()
        hit = np.zeros(len(f), dtype=bool)
        if objected.any():
            first = f[objected].groupby(["acc", "person"], sort=False)["t"].min()
            keys = pd.MultiIndex.from_frame(f[["acc", "person"]])
            since = pd.Series(keys.map(first.to_dict().get), dtype="float64").fillna(np.inf).to_numpy()
            hit = tp & f["outbound"].to_numpy() & (f["t"].to_numpy() > since)
        person = f["person"].to_numpy()
        return events.violations(rule, hit, lambda i: [
            f"contact with third party {p} after they objected to being contacted: {rule.text.en}" for p in person[i]])

    def treatment_problems(self, treatment: "Treatment", rule: PackRule, params: CheckParams) -> list[str]:
        if treatment.third_party is None or treatment.third_party.stop_on_objection:
            return []
        return [f"third-party contact does not stop when the person objects: {rule.text.en}"]


@register_check
class NoDisclosureBeforeIdentity(CheckType):
    """The debt is mentioned only to the verified debtor: no message that reaches a third party
    (contact aimed at one, or the debtor's line answered by someone else) may mention it
    (``markers``: words that mention the debt)."""

    name = "no_disclosure_before_identity"
    Params = Markers

    def loosened(self, old: Markers, new: Markers) -> list[str]:
        return [] if {m.lower() for m in old.markers} <= {m.lower() for m in new.markers} else ["markers"]

    def find(self, events: Events, rule: PackRule, params: Markers) -> pd.DataFrame:
        f = events.frame
        aimed = f["is_third_party"].to_numpy()
        on_line = f["third_party_on_line"].to_numpy()
        msg = f["message"].to_numpy(dtype=object)
        idx = np.flatnonzero((aimed | on_line) & f["outbound"].to_numpy())
        k = np.full(len(f), -1, dtype="int64")
        k[idx] = find_markers(msg[idx], params.markers)
        hit = k >= 0
        marker = np.asarray(list(params.markers) + [""], dtype=object)
        return events.violations(rule, hit, lambda i: [
            ("reached a third party on the debtor's line: no disclosure allowed, yet the message mentions the debt "
             if line else "contact aimed at a third party mentions the debt ")
            + f"(\u201c{marker[j]}\u201d): {rule.text.en}" for line, j in zip(on_line[i], k[i])])

    def treatment_problems(self, treatment: "Treatment", rule: PackRule, params: Markers) -> list[str]:
        if treatment.verify_identity:
            return []
        return [f"the debt is mentioned without first verifying the debtor's identity: {rule.text.en}"]


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
    """No message uses a prohibited practice (``prohibited.yaml`` markers) unlawful in
    ``jurisdiction``, cited with that jurisdiction's sources."""

    name = "prohibited_language"
    Params = Jurisdiction

    def find(self, events: Events, rule: PackRule, params: Jurisdiction) -> pd.DataFrame:
        f = events.frame
        msg = f["message"].to_numpy(dtype=object)
        has = np.flatnonzero(pd.notna(msg))
        hits = scan_prohibited(msg[has], events.playbook, params.jurisdiction).drop_duplicates("pos")
        rows = has[hits["pos"].to_numpy()]
        practices = events.playbook.prohibited
        cite = [practice_citation(p, params.jurisdiction) for p in practices]
        head = np.array([f"prohibited practice '{p.id}' ({p.name.en}): \u201c" for p in practices] + [""], dtype=object)
        tail = np.array([f"\u201d; source: {c}" for c in cite] + [""], dtype=object)
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
    """Every treatment offers forbearance to customers in arrears: an ``offer`` or a
    ``forbearance`` element (options on request, referral to free debt advice)."""

    name = "forbearance"

    def treatment_problems(self, treatment: "Treatment", rule: PackRule, params: CheckParams) -> list[str]:
        if treatment.offer.type != "none" or treatment.forbearance.any:
            return []
        return [f"no forbearance offered (no offer and no forbearance options): {rule.text.en}"]


@register_check
class VulnerablePath(_NotInLogs):
    """Vulnerable customers have a path of their own: a rule whose ``when`` reads ``vulnerable``,
    reached before any rule that does not, with a gentler treatment (no escalation, no field
    visit, no third parties, no more calls than any other rule)."""

    name = "vulnerable_path"

    def strategy_problems(self, strategy: "StrategyRules", rule: PackRule, params: CheckParams) -> list[str]:
        reads = ["vulnerable" in r.expression.names for r in strategy.rules]
        if not any(reads):
            return [f"no separate rule for vulnerable customers: {rule.text.en}"]
        first = reads.index(True)
        out = []
        if first > 0 and strategy.rules[first - 1].when.strip() == "True":
            out.append(f"the rule for vulnerable customers (rules[{first}]) comes after a rule that catches every "
                       f"account: {rule.text.en}")
        t = strategy.rules[first].treatment
        others = [r.treatment.attempts_per_week for i, r in enumerate(strategy.rules) if i != first]
        harsh = [w for w, bad in (("escalation", t.escalation.action != "none"), ("field visits", "visit" in t.channels),
                                  ("third-party contact", t.third_party is not None),
                                  ("more calls than other rules", bool(others) and t.attempts_per_week > min(others)))
                 if bad]
        if harsh:
            out.append(f"the path for vulnerable customers (rules[{first}]) is not gentler: {', '.join(harsh)}: "
                       f"{rule.text.en}")
        return out


@register_check
class AppraisalNotOnlyRecovered(_NotInLogs):
    """Collectors are not appraised on amounts recovered alone: no team text in the content
    sets such a target (``markers``)."""

    name = "appraisal_not_only_recovered"
    Params = Markers

    def loosened(self, old: Markers, new: Markers) -> list[str]:
        return [] if {m.lower() for m in old.markers} <= {m.lower() for m in new.markers} else ["markers"]

    def content_problems(self, playbook: Playbook, rule: PackRule, params: Markers) -> list[tuple[str, str]]:
        out = []
        for team in playbook.teams.values():
            texts = [("name", team.name), ("description", team.description), ("escalation", team.escalation)]
            texts += [(f"{k}[{i}]", t) for k in ("cues", "tactics", "avoid") for i, t in enumerate(getattr(team, k))]
            for fld, text in texts:
                k = find_markers([text.zh + " " + text.en], params.markers)[0]
                if k >= 0:
                    out.append((f"teams.yaml {team.id} {fld}", f"team target based on amounts recovered alone "
                                f"(\u201c{params.markers[k]}\u201d): {rule.text.en}"))
        return out
