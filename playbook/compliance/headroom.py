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
from .room import Room

__all__ = ["headroom"]


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
        One row per account: ``timezone``, ``window_open_now``, ``next_window_opens`` (debtor
        local time and zone), ``next_window_opens_utc`` (the same moment, UTC)
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
    opens_s = np.maximum(room.not_before, now_s)
    next_open = np.empty(n, dtype=object)
    opens_at = np.zeros(n, dtype="datetime64[s]")
    reopens_today = np.zeros(n, dtype=bool)
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
        opens_at[m] = local.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[s]")
        opens_day = local.dt.tz_localize(None).dt.normalize().to_numpy().astype("datetime64[D]").astype("int64")
        reopens_today[m] = opens_day == today[m]
    # before the window opens, today's calls are still to come; after it closes, none are left
    done = ~window_open & ~reopens_today
    for arr in room.left.values():
        arr[done] = 0
    for rid, c in closed.items():
        room.block(c & done, rid)

    return pd.DataFrame({
        "account_id": ids.to_numpy(), "timezone": tz, "window_open_now": window_open,
        "next_window_opens": next_open,
        "next_window_opens_utc": pd.DatetimeIndex(opens_at).tz_localize("UTC"), "calls_left_today": _limit(room.left["call"]),
        "sms_left_today": _limit(room.left["sms"]), "email_left_today": _limit(room.left["email"]),
        "blocked_by": _join_flags(room.blocked, n),
    })
