"""How many more contacts each account may receive today, and when its next window opens."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..arrays import codes_of
from ..content import Pack, Playbook, load_playbook
from ..errors import ArgumentError
from ..portfolio import Portfolio
from ..prepared import Prepared
from .events import account_zones, events_of, in_daily_window, prepare_events
from .packs import bind

__all__ = ["headroom", "Room", "CHANNELS"]

CHANNELS = ("call", "sms", "email")


class Room:
    """Today's contact headroom of every account, narrowed rule by rule.

    A check type's :meth:`~playbook.compliance.CheckType.limit` reads ``events`` (the
    prepared events at or before ``now_s``, see :class:`~playbook.compliance.events.Events`),
    ``pos`` (each event's account position), ``on_today`` (event on the account's local
    today) and narrows the headroom with :meth:`cap`, :meth:`wait`, :meth:`block` and
    :meth:`close_daily`.
    """

    def __init__(self, events: pd.DataFrame, pos: np.ndarray, on_today: np.ndarray, n: int, now_s: int) -> None:
        self.events, self.pos, self.on_today, self.n, self.now_s = events, pos, on_today, n, now_s
        self.left = {ch: np.full(n, np.inf) for ch in CHANNELS}
        self.not_before = np.full(n, now_s, dtype="int64")
        self.blocked: dict[str, np.ndarray] = {}
        self.windows: list[tuple[str, int, int]] = []

    def per_account(self, mask: np.ndarray) -> np.ndarray:
        """Number of events in ``mask`` per account."""
        return np.bincount(self.pos[mask], minlength=self.n)

    def last(self, mask: np.ndarray) -> np.ndarray:
        """Per account, the time (UTC seconds) of its latest event in ``mask``; -1 for none."""
        out = np.full(self.n, -1, dtype="int64")
        np.maximum.at(out, self.pos[mask], self.events["t"].to_numpy()[mask])
        return out

    def cap(self, channel: str, left: np.ndarray | float) -> None:
        """At most ``left`` more contacts on ``channel`` (call, sms, email) today."""
        self.left[channel] = np.minimum(self.left[channel], left)

    def block(self, mask: np.ndarray, rule_id: str) -> None:
        """Name ``rule_id`` in ``blocked_by`` of the accounts in ``mask``."""
        self.blocked[rule_id] = self.blocked.get(rule_id, np.zeros(self.n, dtype=bool)) | mask

    def wait(self, mask: np.ndarray, until: np.ndarray, rule_id: str) -> None:
        """No call before ``until`` (UTC seconds) for the accounts in ``mask``."""
        self.left["call"] = np.where(mask, 0, self.left["call"])
        self.not_before = np.where(mask, np.maximum(self.not_before, until), self.not_before)
        self.block(mask, rule_id)

    def close_daily(self, rule_id: str, start: int, end: int) -> None:
        """No contact between minutes ``start`` and ``end`` of each local day (may span midnight)."""
        self.windows.append((rule_id, start, end))


def _limit(a: np.ndarray) -> pd.arrays.IntegerArray:
    return pd.arrays.IntegerArray(np.where(np.isinf(a), 0, a).astype("int64"), np.isinf(a))


def _join_flags(flags: dict[str, np.ndarray], n: int) -> np.ndarray:
    """``"a;b"`` per row from one boolean array per label (vectorised)."""
    out = np.full(n, "", dtype=object)
    for label, mask in flags.items():
        out = np.where(mask, np.where(out == "", label, out + ";" + label), out)
    return out


def headroom(data: Portfolio | Prepared, now: str | pd.Timestamp, pack: str | Pack = "cn", *,
             playbook: Playbook | None = None) -> pd.DataFrame:
    """How many more contacts each channel allows today, per account, and when the next
    permitted window opens.

    Parameters
    ----------
    data : Portfolio or Prepared
        The accounts and their contact log; a :class:`~playbook.prepared.Prepared` bundle
        reuses its prepared contact events.
    now : timestamp
        The moment to plan from; a naive value is read in the pack's default time zone.
        Only contacts at or before it count.
    pack : {"cn", "us", "uk"} or Pack
        The rule pack, possibly tightened with :func:`~playbook.compliance.tighten`.
    playbook : Playbook, optional
        The content; defaults to the bundle's or :func:`playbook.load_playbook`.

    Returns
    -------
    DataFrame
        One row per account: ``timezone``, ``window_open_now``, ``next_window_opens``
        (debtor local time), ``calls_left_today``, ``sms_left_today``,
        ``email_left_today`` (``<NA>`` = no count limit in this pack, 0 = none allowed) and
        ``blocked_by`` (rule ids that leave no call today).
    """
    prepared = data if isinstance(data, Prepared) else None
    pf = prepared.portfolio if prepared is not None else data
    if not isinstance(pf, Portfolio):
        raise ArgumentError("data", type(data).__name__, "a Portfolio or a Prepared bundle")
    pb = playbook or (prepared.playbook if prepared is not None else load_playbook())
    checked = bind(pack, pb)
    p = checked.pack
    now = pd.Timestamp(now)
    if now.tzinfo is None:
        now = now.tz_localize(p.default_timezone)
    now_s = int(now.tz_convert("UTC").timestamp())
    acc = pf.accounts
    ids = acc["account_id"]
    n = len(acc)
    tz = account_zones(acc, ids, p.default_timezone).to_numpy()
    if prepared is not None:
        frame = events_of(prepared, p.default_timezone, pb).frame
        frame = frame[frame["t"].to_numpy() <= now_s]
    else:
        it = pf.interactions
        frame = prepare_events(it[it["ts"] <= now.tz_convert("UTC")], acc, p.default_timezone, pb).frame
    pos = codes_of(frame["account_id"].astype(str), ids)
    if (pos < 0).any():
        frame, pos = frame[pos >= 0], pos[pos >= 0]
    now_min = np.zeros(n, dtype="int64")
    today = np.zeros(n, dtype="int64")
    for zone in pd.unique(tz):
        m = tz == zone
        ln = now.tz_convert(zone)
        now_min[m] = ln.hour * 60 + ln.minute
        today[m] = np.datetime64(ln.tz_localize(None).normalize(), "D").astype("int64")
    room = Room(frame, pos, frame["day"].to_numpy() == today[pos], n, now_s)
    for b in checked.active:
        b.check.limit(room, b.rule, b.params)

    window_open = np.ones(n, dtype=bool)
    closed: dict[str, np.ndarray] = {}
    for rid, s, e in room.windows:
        c = in_daily_window(now_min, s, e)
        window_open &= ~c
        closed[rid] = closed.get(rid, np.zeros(n, dtype=bool)) | c
    for arr in room.left.values():
        arr[~window_open] = 0
    for rid, c in closed.items():
        room.block(c, rid)

    opens_s = np.maximum(room.not_before, now_s)
    next_open = np.empty(n, dtype=object)
    for zone in pd.unique(tz):
        m = tz == zone
        local = pd.Series(pd.to_datetime(opens_s[m], unit="s", utc=True)).dt.tz_convert(zone)
        for _ in range(2):  # a window may only open after another rule's wait: re-check once
            minute = (local.dt.hour * 60 + local.dt.minute).to_numpy()
            for _rid, qs, qe in room.windows:
                inq = in_daily_window(minute, qs, qe)
                wait = np.where(minute >= qe, qe + 1440 - minute, qe - minute) if qs > qe else qe - minute
                local = local + pd.to_timedelta(np.where(inq, wait, 0), unit="m")
                local = local.where(~inq, local.dt.floor("min"))
        next_open[m] = (local.dt.strftime("%Y-%m-%d %H:%M") + f" {zone}").to_numpy()

    return pd.DataFrame({
        "account_id": ids.to_numpy(), "timezone": tz, "window_open_now": window_open,
        "next_window_opens": next_open, "calls_left_today": _limit(room.left["call"]),
        "sms_left_today": _limit(room.left["sms"]), "email_left_today": _limit(room.left["email"]),
        "blocked_by": _join_flags(room.blocked, n),
    })
