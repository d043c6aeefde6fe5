"""Contact events prepared once for every check: local times, flags, (account, time) order.

Rules run on the debtor's local time: the account's ``timezone``, or the pack's default.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Sequence, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from ..arrays import codes_of, wall_times
from ..content import PackRule, Playbook, Text
from ..errors import PlaybookError

if TYPE_CHECKING:
    from ..prepared import Prepared

__all__ = ["Events", "Worded", "DETAIL_COLUMNS", "detail_column", "prepare_events", "events_of", "account_zones", "recorded_zones", "zones_or_default", "UnknownTimezoneError", "hhmm", "in_daily_window",
           "S_DAY", "THIRD_PARTIES", "MESSAGE_CHANNELS", "VOICE_CALLS"]

S_DAY = 86_400
THIRD_PARTIES = ("relative", "colleague", "third_party")
MESSAGE_CHANNELS = ("sms", "email")
VOICE_CALLS = ("call", "ivr")  # telephone calls, live or automated

DETAIL_COLUMNS = {"en": "detail", "zh": "detail_zh"}  # the violation's detail in each language


def detail_column(lang: str) -> str:
    """The column of a violations frame that words its details in ``lang`` (``detail`` for
    English, ``detail_zh`` for Chinese; any other value reads English)."""
    return DETAIL_COLUMNS.get(lang, "detail")


class Worded(NamedTuple):
    """A violation detail in both languages: for each language one text, or one text per
    violating event (a sequence or an object array, in the order of the positions given)."""

    en: Union[str, Sequence[str], np.ndarray]
    zh: Union[str, Sequence[str], np.ndarray]


# what a check hands to Events.violations: one text for every hit (a Text or Worded pair;
# a plain str reads the same in both languages), or a function of the positions of the hits
# that returns a Worded pair of texts (a bare sequence again reads the same in both)
Detail = Union[str, Text, Worded, Callable[[np.ndarray], Union[Worded, Sequence[str], np.ndarray]]]


class UnknownTimezoneError(PlaybookError, ValueError):
    """An account's ``timezone`` is not an IANA time zone name.

    Parameters
    ----------
    zone : str
        The value found.
    account_id : str
        The first account that has it.
    """

    exit_code = 2

    def __init__(self, zone: str, account_id: object) -> None:
        self.zone, self.account_id = zone, account_id
        super().__init__(f"unknown timezone {zone!r} for account {account_id!r}; use an IANA name such as 'Asia/Shanghai'")


@dataclass(frozen=True)
class Events:
    """Interactions prepared for the checks: one row per interaction, in (account, time) order.

    ``frame`` columns: ``row`` (position in the checked frame), ``account_id``, ``acc``
    (account code), ``t`` (UTC seconds), ``minute`` and ``day`` (local minute of the day
    and local day number), ``wall`` (local wall-clock time), ``tz``, ``channel``,
    ``direction``, ``party``, ``outcome``, ``contact_ref``, ``message``, ``staff_count``,
    ``person`` (``contact_ref``, else ``party``: who was contacted),
    and the flags ``is_contact``, ``is_rpc``, ``outbound``, ``is_call`` (outbound voice
    call), ``is_conversation`` (voice call with the right party), ``is_third_party``
    (contact aimed at a third party: ``party`` is a relative, colleague or other third party),
    ``third_party_on_line`` (a contact aimed at the debtor that someone else answered: not an
    unlawful third-party contact, but nothing may be disclosed), ``consent_call`` (the debtor
    consented to calls in this contact, ``consent``) and ``consent_call_at`` (UTC seconds of
    the account's recorded call consent, ``consent_channels``/``consent_at``; -1 for none).
    ``report`` limits which rows a check reports (None: all); the others are context.
    """

    frame: pd.DataFrame
    playbook: Playbook
    report: np.ndarray | None = None
    _reporting: list = field(default_factory=list, init=False, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.frame)

    def reporting(self, mask: np.ndarray | None) -> "Events":
        """The same events, reporting only the rows in ``mask``."""
        return replace(self, report=mask)

    def values(self, column: str, sel: np.ndarray) -> np.ndarray:
        """The values of ``column`` at positions ``sel``, as an object array (only those are built;
        a missing category reads ``""``)."""
        col = self.frame[column]
        if isinstance(col.dtype, pd.CategoricalDtype):
            labels = np.append(np.asarray(col.cat.categories, dtype=object), "")  # code -1 (missing) reads ""
            return labels.take(col.cat.codes.to_numpy()[sel])
        return col.to_numpy(dtype=object)[sel]

    def local(self, sel: np.ndarray) -> np.ndarray:
        """``"YYYY-MM-DD HH:MM Zone"`` of the events at positions ``sel``.

        While :meth:`violations` words its details, the times of the very positions it reports
        (its ``sel``) are not built again.
        """
        for memo in list(self._reporting):  # (sel, texts) of the violations being worded
            if memo[0] is sel:
                return memo[1]
        if not len(sel):
            return np.array([], dtype=object)
        wall = pd.Series(self.frame["wall"].to_numpy()[sel]).dt.strftime("%Y-%m-%d %H:%M")
        return (wall + " " + self.values("tz", sel)).to_numpy(dtype=object)

    def name_of(self, value: object, label: str, lang: str = "zh") -> str:
        """``value`` by its name in ``lang``: the UI label ``label + value`` (e.g.
        ``explorer.channel_`` + ``sms`` reads 短信), else the value itself."""
        key = label + str(value)
        return self.playbook.labels[key](lang) if key in self.playbook.labels else str(value)

    def names(self, column: str, sel: np.ndarray, label: str, lang: str = "zh") -> np.ndarray:
        """The values of ``column`` at positions ``sel`` by their names in ``lang`` (see
        :meth:`name_of`), each distinct value looked up once."""
        raw = self.values(column, sel)
        if not len(raw):
            return raw
        codes, uniq = pd.factorize(pd.Series(raw, dtype=object).fillna(""))
        return np.array([self.name_of(u, label, lang) for u in uniq], dtype=object)[codes]

    def violations(self, rule: PackRule, mask: np.ndarray, detail: Detail) -> pd.DataFrame:
        """One violation of ``rule`` per event in ``mask`` that is reported.

        Parameters
        ----------
        rule : PackRule
            The rule broken.
        mask : ndarray of bool
            The violating events (in the order of :attr:`frame`).
        detail : str, Text, Worded or callable
            What a person reads about each violation, in both languages: a
            :class:`~playbook.content.Text` or :class:`Worded` pair for every hit, or a function of
            the positions of the violating events returning a :class:`Worded` pair with one text
            per position. A plain string or sequence of strings is one language only and fills
            both columns (for check types that word their details in one language).

        Returns
        -------
        DataFrame
            ``rule``, ``row``, ``account_id``, ``ts``, ``detail`` (English), ``detail_zh``
            (Chinese) and ``source``.
        """
        if self.report is not None:
            mask = mask & self.report
        sel = np.flatnonzero(mask)
        f = self.frame
        ts = self.local(sel)
        if callable(detail) and not isinstance(detail, Text):
            memo = (sel, ts)
            self._reporting.append(memo)  # a detail that names the time reuses ts
            try:
                said = detail(sel) if len(sel) else ""  # the function is asked about hits only
            finally:
                self._reporting[:] = [m for m in self._reporting if m is not memo]
        else:
            said = detail
        if isinstance(said, (Text, Worded)):
            en, zh = said.en, said.zh
        else:
            en = zh = said
        return pd.DataFrame({"rule": rule.id, "row": f["row"].to_numpy()[sel], "account_id": f["account_id"].to_numpy()[sel],
                             "ts": ts, "detail": _per_hit(en, len(sel)), "detail_zh": _per_hit(zh, len(sel)),
                             "source": rule.source})


def _per_hit(texts: Any, n: int) -> np.ndarray:
    """``n`` texts as an object array: one text repeated, or one per hit."""
    if isinstance(texts, str):
        return np.full(n, texts, dtype=object)
    out = np.asarray(texts, dtype=object) if n else np.array([], dtype=object)
    if out.shape != (n,):
        raise ValueError(f"a violation detail needs one text per hit: {n} hits, {out.shape} texts")
    return out


def hhmm(text: str) -> int:
    """Minutes after midnight of ``"HH:MM"``."""
    h, m = text.split(":")
    return int(h) * 60 + int(m)


def in_daily_window(minute: np.ndarray, start: int, end: int) -> np.ndarray:
    """Whether each minute of the day lies in ``[start, end)``, which may span midnight."""
    return (minute >= start) | (minute < end) if start > end else (minute >= start) & (minute < end)


def _local_parts(ts: pd.Series, tz: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Minutes of the day, local day number and local wall-clock time of each UTC timestamp."""
    wall = wall_times(ts, tz)
    day = wall.astype("datetime64[D]")
    return (wall - day).astype("int64") // 60, day.astype("int64"), wall


def recorded_zones(accounts: pd.DataFrame | None, account_ids: pd.Series) -> np.ndarray:
    """The ``timezone`` recorded for the account of each of ``account_ids`` (``None`` where
    the account has none, is not among ``accounts``, or there is no such column); not checked."""
    out = np.full(len(account_ids), None, dtype=object)
    if accounts is None or "timezone" not in accounts or not len(accounts):
        return out
    pos = codes_of(account_ids, accounts["account_id"])
    tz_acc = accounts["timezone"].astype(object).to_numpy()
    known = pos >= 0
    out[known] = tz_acc[pos[known]]
    out[pd.isna(out)] = None
    return out


def zones_or_default(accounts: pd.DataFrame | None, account_ids: pd.Series, default: str) -> tuple[np.ndarray, np.ndarray]:
    """Each of ``account_ids``' time zone: its account's ``timezone``, else ``default``
    (missing, unknown account or not an IANA name: shown, not refused, unlike
    :func:`account_zones`); and whether it fell back."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    zone = recorded_zones(accounts, account_ids)
    valid = {}
    for z in pd.unique(zone[pd.notna(zone)]):
        try:
            ZoneInfo(str(z))
            valid[z] = True
        except (ZoneInfoNotFoundError, ValueError):
            valid[z] = False
    ok = np.array([z is not None and valid[z] for z in zone], dtype=bool)
    return np.where(ok, zone, default).astype(str), ~ok


def account_zones(accounts: pd.DataFrame | None, account_ids: pd.Series, default: str) -> pd.Series:
    """The time zone of each of ``account_ids``: its account's ``timezone``, else ``default``.

    Raises
    ------
    UnknownTimezoneError
        For a value that is not an IANA time zone name.
    """
    zones = recorded_zones(accounts, account_ids)
    out = pd.Series(np.where(pd.isna(zones), default, zones), index=account_ids.index, dtype=object)
    for zone in pd.unique(out):
        try:
            ZoneInfo(str(zone))
        except (ZoneInfoNotFoundError, ValueError):
            bad = out.index[out == zone][0]
            raise UnknownTimezoneError(str(zone), account_ids[bad]) from None
    return out.astype(str)


def prepare_events(interactions: pd.DataFrame, accounts: pd.DataFrame | None, default_timezone: str,
                   playbook: Playbook) -> Events:
    """Prepare a contact log for the checks (see :class:`Events`).

    Parameters
    ----------
    interactions : DataFrame
        Canonical interactions; ``contact_ref``, ``message`` and ``staff_count`` are optional.
    accounts : DataFrame, optional
        For each account's ``timezone``.
    default_timezone : str
        The zone of accounts without one (the pack's default).
    playbook : Playbook
        For the disposition flags.
    """
    it = interactions.reset_index(drop=True)
    tz = account_zones(accounts, it["account_id"], default_timezone)
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
    # who was contacted: the number or person recorded, else the party (read by several checks)
    ref = f["contact_ref"].to_numpy(dtype=object) if "contact_ref" in f else np.full(len(f), None, dtype=object)
    party = np.asarray(f["party"].astype(object), dtype=object)
    f["person"] = np.where(pd.isna(ref), party, ref)
    flags = playbook.disposition_flags(it["outcome"], ("contact", "rpc"))
    f["is_contact"] = flags["contact"][order]
    f["is_rpc"] = flags["rpc"][order]
    voice = f["channel"].isin(VOICE_CALLS).to_numpy()
    f["outbound"] = (f["direction"] == "outbound").to_numpy()
    f["is_call"] = voice & f["outbound"].to_numpy()
    f["is_conversation"] = voice & f["is_rpc"].to_numpy()
    f["is_third_party"] = f["party"].isin(THIRD_PARTIES).to_numpy()
    f["third_party_on_line"] = ((f["party"] == "debtor") & (f["outcome"] == "third_party_contact")).to_numpy()
    f["consent_call"] = _consents(it["consent"], "call").to_numpy()[order] if "consent" in it else False
    f["consent_call_at"] = _account_consent(accounts, it["account_id"], "call")[order]
    return Events(f, playbook)


def _consents(values: pd.Series, channel: str) -> pd.Series:
    """Whether each ``;``-separated channel list names ``channel`` (each distinct list read once)."""
    codes, uniq = pd.factorize(values, use_na_sentinel=True)
    named = np.array([channel in {x.strip().lower() for x in str(u).split(";")} for u in uniq], dtype=bool)
    out = np.zeros(len(values), dtype=bool)
    out[codes >= 0] = named[codes[codes >= 0]]
    return pd.Series(out, index=values.index)


def _account_consent(accounts: pd.DataFrame | None, account_ids: pd.Series, channel: str) -> np.ndarray:
    """Per interaction, UTC seconds of its account's recorded consent to ``channel`` (-1: none)."""
    out = np.full(len(account_ids), -1, dtype="int64")
    if accounts is None or not {"consent_channels", "consent_at"} <= set(accounts.columns) or not len(accounts):
        return out
    at = pd.to_datetime(accounts["consent_at"], utc=True, errors="coerce")
    ok = _consents(accounts["consent_channels"], channel).to_numpy() & at.notna().to_numpy()
    secs = np.where(ok, at.dt.tz_localize(None).to_numpy().astype("datetime64[s]").astype("int64"), -1)
    pos = codes_of(account_ids, accounts["account_id"])
    return np.where(pos >= 0, secs[np.maximum(pos, 0)], -1)


def events_of(prepared: "Prepared", default_timezone: str, playbook: Playbook) -> Events:
    """The prepared events of a bundle's whole contact log, computed once per default zone."""
    pf = prepared.portfolio
    if playbook is not prepared.playbook:
        return prepare_events(pf.interactions, pf.accounts, default_timezone, playbook)
    return prepared.memo(("compliance_events", default_timezone),
                         lambda: prepare_events(pf.interactions, pf.accounts, default_timezone, playbook))
