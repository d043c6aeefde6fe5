"""The contact headroom of every account today, as the check types narrow it."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["Room", "CHANNELS"]

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
