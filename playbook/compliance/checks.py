"""The built-in check types, one class each, registered when the package is imported."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, ClassVar

import numpy as np
import pandas as pd
from pydantic import Field

from ..arrays import previous_time
from ..content import PackRule, Playbook, Text
from .events import MESSAGE_CHANNELS, S_DAY, Events, Worded, hhmm, in_daily_window
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
_CHANNEL = "explorer.channel_"  # UI labels naming a channel (explorer.channel_sms: 短信 / SMS)
_PARTY = "explorer.party_"  # ... and a contacted party (explorer.party_relative: 亲属 / relative)


def _said(en: str, zh: str) -> Text:
    """A finding in both languages (what strategy, treatment and content checks return)."""
    return Text(en=en, zh=zh)


def _fmt(values: np.ndarray, spec: str = "") -> np.ndarray:
    """``format(v, spec)`` of each value as an object array, each distinct value formatted once
    (so Chinese and English details share one formatting pass)."""
    codes, uniq = pd.factorize(np.asarray(values), use_na_sentinel=False)
    return np.array([format(u, spec) for u in uniq], dtype=object)[codes] if len(codes) else np.array([], dtype=object)


def _days(seconds: np.ndarray) -> np.ndarray:
    """Each span of ``seconds`` in days as a detail says it: one decimal, none when the span
    is a whole number of days at that precision (``5``, ``5.3``, ``0.5``)."""
    text = _fmt(np.round(np.asarray(seconds, dtype="float64") / S_DAY, 1), ".1f")
    return np.array([t[:-2] if t.endswith(".0") else t for t in text], dtype=object)


def _day_unit(days: str) -> str:
    """``day`` after 1, ``days`` after any other number (``5 days``, ``0.5 days``)."""
    return "day" if days == "1" else "days"


def _people(events: Events, person: np.ndarray) -> tuple[np.ndarray, list[str], list[str]]:
    """Who was contacted, coded: the code of each person, and each distinct person as written
    and in Chinese (a party without a recorded contact reads 亲属, 同事, ...)."""
    code, uniq = pd.factorize(pd.Series(person, dtype=object).astype(str))
    return code, list(uniq), [events.name_of(u, _PARTY) for u in uniq]


def _each(keys: np.ndarray, en: Callable[[Any], str], zh: Callable[[Any], str]) -> Worded:
    """A detail per hit that depends only on ``keys``: ``en(key)`` and ``zh(key)`` worded once
    per distinct key (missing keys included), then spread to the hits."""
    codes, uniq = pd.factorize(np.asarray(keys), use_na_sentinel=False)
    return Worded(np.array([en(u) for u in uniq], dtype=object)[codes],
                  np.array([zh(u) for u in uniq], dtype=object)[codes])


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
        allowed_zh = f"；仅允许在当地时间{params.end}-{params.start}联系"

        def detail(i: np.ndarray) -> Worded:
            at = events.local(i)
            return Worded([f"{c} at {a}{allowed}" for c, a in zip(events.values("channel", i), at)],
                          [f"{c}联系时间为{a}{allowed_zh}" for c, a in zip(events.names("channel", i, _CHANNEL), at)])

        return events.violations(rule, hit, detail)

    def limit(self, room: "Room", rule: PackRule, params: Clock) -> None:
        room.close_daily(rule.id, hhmm(params.start), hhmm(params.end))

    def treatment_problems(self, treatment: "Treatment", rule: PackRule, params: Clock) -> list[Text]:
        if not treatment.call_window:
            return []
        w0, w1 = (hhmm(x) for x in treatment.call_window)
        minutes = np.arange(w0, w1 if w1 > w0 else w1 + 1440) % 1440
        if not in_daily_window(minutes, hhmm(params.start), hhmm(params.end)).any():
            return []
        a, b = treatment.call_window
        return [_said(f"calls scheduled {a}-{b} fall in the quiet hours {params.start}-{params.end}: {rule.text.en}",
                     f"计划的呼叫时段{a}-{b}落在禁止联系时段{params.start}-{params.end}内：{rule.text.zh}")]

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

    def treatment_problems(self, treatment: "Treatment", rule: PackRule, params: Max) -> list[Text]:
        if treatment.attempts_per_day <= params.max:
            return []
        n = treatment.attempts_per_day
        return [_said(f"{n} call attempts a day exceed {params.max}: {rule.text.en}",
                     f"每天呼叫{n}次，超过上限{params.max}次：{rule.text.zh}")]


@register_check
class DailyUnansweredCalls(_DailyCalls):
    """At most ``max`` unanswered outbound calls a day to the same number."""

    name = "daily_unanswered_calls"
    connected = False

    def find(self, events: Events, rule: PackRule, params: Max) -> pd.DataFrame:
        f = events.frame
        mask = self._counted(f)
        nth = _nth_in_group(f, mask, ["acc", "person", "day"])
        return events.violations(rule, mask & (nth > params.max), lambda i: _each(
            nth[i], lambda k: f"unanswered call attempt no. {k} today to the same number (limit {params.max})",
            lambda k: f"当天对同一号码的第{k}次未接通呼叫（上限{params.max}次）"))


@register_check
class DailyConnectedCalls(_DailyCalls):
    """At most ``max`` connected outbound calls per debtor a day."""

    name = "daily_connected_calls"
    connected = True

    def find(self, events: Events, rule: PackRule, params: Max) -> pd.DataFrame:
        f = events.frame
        mask = self._counted(f)
        nth = _nth_in_group(f, mask, ["acc", "day"])
        return events.violations(rule, mask & (nth > params.max), lambda i: _each(
            nth[i], lambda k: f"connected call no. {k} today (limit {params.max}; unverified rule)",
            lambda k: f"当天第{k}次接通的呼叫（上限{params.max}次；该规则未经核实）"))


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
        return events.violations(rule, count > params.max, lambda i: _each(
            count[i], lambda k: f"call no. {k} within {params.days} days (limit {params.max})",
            lambda k: f"{params.days}天内的第{k}次呼叫（上限{params.max}次）"))

    def limit(self, room: "Room", rule: PackRule, params: Rolling) -> None:
        ev = room.events
        recent = ev["is_call"].to_numpy() & (ev["t"].to_numpy() > room.now_s - params.days * S_DAY)
        left = np.maximum(params.max - room.per_account(recent), 0)
        room.cap("call", left)
        room.block(left == 0, rule.id)

    def treatment_problems(self, treatment: "Treatment", rule: PackRule, params: Rolling) -> list[Text]:
        if treatment.attempts_per_week * params.days / 7 <= params.max:
            return []
        n = treatment.attempts_per_week
        return [_said(f"{n} calls a week exceed {params.max} in {params.days} days: {rule.text.en}",
                     f"每周呼叫{n}次，超过{params.days}天内至多{params.max}次的上限：{rule.text.zh}")]


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
        return events.violations(rule, hit, lambda i: _each(
            _days(gap[i]),
            lambda d: f"call {d} {_day_unit(d)} after a telephone conversation without recorded consent (wait {params.days} "
                      f"days): {rule.text.en}",
            lambda d: f"与债务人通话后{d}天即再次致电，且没有记录显示其同意来电（应间隔{params.days}天）：{rule.text.zh}"))

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

    def treatment_problems(self, treatment: "Treatment", rule: PackRule, params: Pause) -> list[Text]:
        out = []
        if treatment.attempts_per_week > 1 and treatment.pause_after_contact_days < params.days:
            n = treatment.attempts_per_week
            out.append(_said(f"{n} calls a week without a {params.days}-day pause after a conversation: {rule.text.en}",
                            f"每周呼叫{n}次，通话后未停顿{params.days}天：{rule.text.zh}"))
        r = treatment.reminder  # always close to the conversation that made the promise
        if r is not None and (not r.only_with_consent or params.consent_days is None):
            if not r.only_with_consent:
                why, why_zh = "made without the debtor's consent", "且未经债务人同意"
            else:
                why, why_zh = "and this pack lets no consent lift the pause", "而本规则包不允许以债务人同意解除这段停顿"
            out.append(_said(f"reminder calls {r.minutes_before} minutes before a promise fall within {params.days} days "
                            f"after the conversation that made it, {why}: {rule.text.en}",
                            f"承诺还款前{r.minutes_before}分钟的提醒电话落在作出承诺的那次通话后的{params.days}天内，"
                            f"{why_zh}：{rule.text.zh}"))
        return out

    def content_problems(self, playbook: Playbook, rule: PackRule, params: Pause) -> list[tuple[str, Text]]:
        """Reminder tactics in the taxonomy must say they need the debtor's consent."""
        out = []
        for where, text in taught_texts(playbook, kinds=("tactic", "opener", "dialogue")):
            low = (text.zh + " " + text.en).lower()
            if any(m in low for m in REMINDER_MARKERS) and not any(m in low for m in CONSENT_MARKERS):
                out.append((where, _said(f"a reminder call shortly before a promise needs the debtor's consent: {rule.text.en}",
                                        f"承诺还款前不久的提醒电话须经债务人同意：{rule.text.zh}")))
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
        lost = params.lost_after_days
        return events.violations(rule, hit, lambda i: _each(
            _days(gap[i]),
            lambda d: f"contact aimed at a third party while the debtor was reachable (debtor reached {d} {_day_unit(d)} "
                      f"earlier; lost after {lost} days without reaching the debtor): {rule.text.en}",
            lambda d: f"债务人仍可联系时联系了第三方（{d}天前曾联系上债务人；连续{lost}天联系不上债务人才算失联）："
                      f"{rule.text.zh}"))

    def treatment_problems(self, treatment: "Treatment", rule: PackRule, params: Lost) -> list[Text]:
        if treatment.third_party is None or treatment.third_party.only_when_lost:
            return []
        return [_said(f"third-party contact not limited to lost debtors: {rule.text.en}",
                     f"第三方联系未限于失联的债务人：{rule.text.zh}")]


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

        def detail(i: np.ndarray) -> Worded:
            code, who, who_zh = _people(events, person[i])
            m = len(who)
            return _each(nth[i] * m + code,
                         lambda x: f"contact no. {x // m} with the same third party {who[x % m]} "
                                   f"(at most {params.max}, for location information only)",
                         lambda x: f"第{x // m}次联系同一第三方“{who_zh[x % m]}”（至多{params.max}次，且只能用于获取联系方式）")

        return events.violations(rule, mask & (nth > params.max), detail)


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

        def detail(i: np.ndarray) -> Worded:
            code, who, who_zh = _people(events, person[i])
            return _each(code, lambda x: f"contact with third party {who[x]} after they objected to being contacted: "
                                         f"{rule.text.en}",
                         lambda x: f"第三方“{who_zh[x]}”已表示不愿被联系，之后仍被联系：{rule.text.zh}")

        return events.violations(rule, hit, detail)

    def treatment_problems(self, treatment: "Treatment", rule: PackRule, params: CheckParams) -> list[Text]:
        if treatment.third_party is None or treatment.third_party.stop_on_objection:
            return []
        return [_said(f"third-party contact does not stop when the person objects: {rule.text.en}",
                     f"第三方表示不愿被联系后，联系并未停止：{rule.text.zh}")]


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
        marker = list(params.markers)

        def en(key: int) -> str:
            line, j = divmod(key, len(marker))
            head = ("reached a third party on the debtor's line: no disclosure allowed, yet the message mentions the debt "
                    if line else "contact aimed at a third party mentions the debt ")
            return head + f"(\u201c{marker[j]}\u201d): {rule.text.en}"

        def zh(key: int) -> str:
            line, j = divmod(key, len(marker))
            head = "债务人的电话由第三方接听，不得透露债务，但信息中提及了债务" if line else "联系第三方时提及了债务"
            return head + f"（\u201c{marker[j]}\u201d）：{rule.text.zh}"

        return events.violations(rule, hit, lambda i: _each(on_line[i].astype("int64") * len(marker) + k[i], en, zh))

    def treatment_problems(self, treatment: "Treatment", rule: PackRule, params: Markers) -> list[Text]:
        if treatment.verify_identity:
            return []
        return [_said(f"the debt is mentioned without first verifying the debtor's identity: {rule.text.en}",
                     f"未先核实债务人身份就提及了债务：{rule.text.zh}")]


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
        return events.violations(rule, sent & ~has, lambda i: _each(
            pd.Series(msg[i], dtype=object).fillna("").astype(str).to_numpy() == "",
            lambda blank: "message text not recorded: no evidence of an opt-out notice" if blank
            else "message carries no opt-out notice",
            lambda blank: "未记录信息内容：无法证明附有退订说明" if blank else "信息未附退订说明"))

    def treatment_problems(self, treatment: "Treatment", rule: PackRule, params: Markers) -> list[Text]:
        if not treatment.sms_text or find_markers([treatment.sms_text], params.markers)[0] >= 0:
            return []
        return [_said(f"SMS text carries no opt-out notice: {rule.text.en}", f"短信文本未附退订说明：{rule.text.zh}")]


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
        return events.violations(rule, hit, lambda i: Worded(
            events.values("channel", i) + " used after the debtor asked to stop this channel",
            "债务人要求停止" + events.names("channel", i, _CHANNEL) + "联系后仍使用了该渠道"))

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
        return events.violations(rule, hit, lambda i: _each(
            staff[i],
            lambda k: f"field visit without a recorded staff count (at least {params.min} staff)" if np.isnan(k)
            else f"field visit by {int(k)} staff (at least {params.min})",
            lambda k: f"上门外访未记录人数（至少应有{params.min}人）" if np.isnan(k)
            else f"上门外访仅{int(k)}人（至少应有{params.min}人）"))

    def treatment_problems(self, treatment: "Treatment", rule: PackRule, params: MinStaff) -> list[Text]:
        if "visit" not in treatment.channels or treatment.visit_staff >= params.min:
            return []
        n = treatment.visit_staff
        return [_said(f"field visits with {n} staff (at least {params.min}): {rule.text.en}",
                     f"上门外访安排{n}人（至少应有{params.min}人）：{rule.text.zh}")]


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
        cite_zh = [practice_citation(p, params.jurisdiction, "zh") for p in practices]
        mcode, markers = pd.factorize(hits["marker"].to_numpy(dtype=object))  # texts are worded per (practice, marker)
        m = max(len(markers), 1)
        worded = _each(hits["practice"].to_numpy() * m + mcode,
                     lambda x: f"prohibited practice '{practices[x // m].id}' ({practices[x // m].name.en}): "
                               f"\u201c{markers[x % m]}\u201d; source: {cite[x // m]}",
                     lambda x: f"使用了禁止的做法“{practices[x // m].name.zh}”：\u201c{markers[x % m]}\u201d；"
                               f"依据：{cite_zh[x // m]}")
        hit = np.zeros(len(f), dtype=bool)
        hit[rows] = True
        detail = np.full(len(f), "", dtype=object)
        detail_zh = np.full(len(f), "", dtype=object)
        detail[rows], detail_zh[rows] = worded.en, worded.zh
        return events.violations(rule, hit, lambda i: Worded(detail[i], detail_zh[i]))


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

    def treatment_problems(self, treatment: "Treatment", rule: PackRule, params: CheckParams) -> list[Text]:
        if treatment.offer.type != "none" or treatment.forbearance.any:
            return []
        return [_said(f"no forbearance offered (no offer and no forbearance options): {rule.text.en}",
                     f"未提供宽限（既没有还款方案，也没有宽限选项）：{rule.text.zh}")]


@register_check
class VulnerablePath(_NotInLogs):
    """Vulnerable customers have a path of their own: a rule whose ``when`` reads ``vulnerable``,
    reached before any rule that does not, with a gentler treatment (no escalation, no field
    visit, no third parties, no more calls than any other rule)."""

    name = "vulnerable_path"

    def strategy_problems(self, strategy: "StrategyRules", rule: PackRule, params: CheckParams) -> list[Text]:
        reads = ["vulnerable" in r.expression.names for r in strategy.rules]
        if not any(reads):
            return [_said(f"no separate rule for vulnerable customers: {rule.text.en}",
                         f"没有针对脆弱客户的单独规则：{rule.text.zh}")]
        first = reads.index(True)
        out = []
        if first > 0 and strategy.rules[first - 1].when.strip() == "True":
            out.append(_said(f"the rule for vulnerable customers (rules[{first}]) comes after a rule that catches every "
                            f"account: {rule.text.en}",
                            f"脆弱客户的规则（rules[{first}]）排在一条适用于所有账户的规则之后：{rule.text.zh}"))
        t = strategy.rules[first].treatment
        others = [r.treatment.attempts_per_week for i, r in enumerate(strategy.rules) if i != first]
        harsh = [w for w, bad in ((("escalation", "升级处理"), t.escalation.action != "none"),
                                  (("field visits", "上门外访"), "visit" in t.channels),
                                  (("third-party contact", "联系第三方"), t.third_party is not None),
                                  (("more calls than other rules", "呼叫次数多于其他规则"),
                                   bool(others) and t.attempts_per_week > min(others)))
                 if bad]
        if harsh:
            out.append(_said(f"the path for vulnerable customers (rules[{first}]) is not gentler: "
                            f"{', '.join(en for en, _ in harsh)}: {rule.text.en}",
                            f"脆弱客户的路径（rules[{first}]）并不更温和：{'、'.join(zh for _, zh in harsh)}：{rule.text.zh}"))
        return out


@register_check
class AppraisalNotOnlyRecovered(_NotInLogs):
    """Collectors are not appraised on amounts recovered alone: no team text in the content
    sets such a target (``markers``)."""

    name = "appraisal_not_only_recovered"
    Params = Markers

    def loosened(self, old: Markers, new: Markers) -> list[str]:
        return [] if {m.lower() for m in old.markers} <= {m.lower() for m in new.markers} else ["markers"]

    def content_problems(self, playbook: Playbook, rule: PackRule, params: Markers) -> list[tuple[str, Text]]:
        out = []
        for team in playbook.teams.values():
            texts = [("name", team.name), ("description", team.description), ("escalation", team.escalation)]
            texts += [(f"{k}[{i}]", t) for k in ("cues", "tactics", "avoid") for i, t in enumerate(getattr(team, k))]
            for fld, text in texts:
                k = find_markers([text.zh + " " + text.en], params.markers)[0]
                if k >= 0:
                    m = params.markers[k]
                    out.append((f"teams.yaml {team.id} {fld}",
                                _said(f"team target based on amounts recovered alone (\u201c{m}\u201d): {rule.text.en}",
                                     f"团队目标只看回收金额（\u201c{m}\u201d）：{rule.text.zh}")))
        return out
