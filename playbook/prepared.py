"""Work computed once for one (portfolio, as-of day): the prepared bundle.

Segmentation, KPIs, calibration, compliance and headroom all start from the same derived
pieces: per-account features, the state of every promise, and the contact log prepared
for the compliance checks. :func:`prepare` returns a :class:`Prepared` that computes each
piece the first time it is asked for and hands the same object to every later caller, so
a briefing or a what-if run derives them once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Hashable

import pandas as pd

from ._checks import check_date, check_positive_int
from .content import Playbook, load_playbook
from .features import account_positions, derive_features, promise_states
from .portfolio import Portfolio

__all__ = ["Prepared", "prepare", "prepared_for"]


@dataclass(eq=False)
class Prepared:
    """The derived pieces of one portfolio as of one day, each computed at most once.

    Build it with :func:`prepare`. ``features`` and ``promises`` are properties;
    higher layers keep their own pieces (e.g. the compliance events per pack) with
    :meth:`memo`.
    """

    portfolio: Portfolio
    as_of: pd.Timestamp
    playbook: Playbook
    window_days: int = 90
    _memo: dict = field(default_factory=dict, repr=False)

    @property
    def timezone(self) -> str:
        """The business time zone the portfolio's days are counted in."""
        return self.playbook.timezone_of(self.portfolio)

    def memo(self, key: Hashable, factory: Callable[[], Any]) -> Any:
        """The value stored under ``key``, computed by ``factory()`` the first time."""
        if key not in self._memo:
            self._memo[key] = factory()
        return self._memo[key]

    @property
    def promises(self) -> pd.DataFrame:
        """Every promise to pay with its state (:func:`playbook.features.promise_states`)."""
        pf = self.portfolio
        return self.memo("promises", lambda: promise_states(
            pf.interactions, pf.payments, self.as_of, timezone=self.timezone,
            positions=(account_positions(pf, "interactions"), account_positions(pf, "payments"))))

    def features_for(self, window_days: int) -> pd.DataFrame:
        """Per-account features over a window of ``window_days`` days."""
        def derive() -> pd.DataFrame:
            if "promises" in self._memo:
                return derive_features(self.portfolio, self.as_of, window_days=window_days, playbook=self.playbook,
                                       promises=self._memo["promises"])
            # the promises are derived beside the counts and kept: as :attr:`promises` derives them
            return derive_features(self.portfolio, self.as_of, window_days=window_days, playbook=self.playbook,
                                   on_promises=lambda ps: self._memo.setdefault("promises", ps))

        return self.memo(("features", window_days), derive)

    @property
    def features(self) -> pd.DataFrame:
        """Per-account features over the bundle's window (:func:`playbook.derive_features`)."""
        return self.features_for(self.window_days)


def prepare(portfolio: Portfolio, as_of: str | pd.Timestamp, *, window_days: int = 90,
            playbook: Playbook | None = None) -> Prepared:
    """A :class:`Prepared` bundle for ``portfolio`` as of ``as_of``; nothing is computed yet.

    Parameters
    ----------
    portfolio : Portfolio
        The canonical tables.
    as_of : date-like
        Events up to the end of this day (business time zone) count.
    window_days : int
        The window of the features, in days.
    playbook : Playbook, optional
        The content; defaults to :func:`playbook.load_playbook`.

    Returns
    -------
    Prepared
    """
    return Prepared(portfolio, check_date("as_of", as_of), playbook or load_playbook(),
                    check_positive_int("window_days", window_days))


def prepared_for(portfolio: Portfolio | Prepared, as_of: str | pd.Timestamp | None, playbook: Playbook | None,
                 window_days: int = 90) -> Prepared:
    """``portfolio`` itself when it is already a bundle for ``as_of``, else a new bundle.

    Lets every public function accept either a portfolio or a bundle.
    """
    if isinstance(portfolio, Prepared):
        if as_of is not None and check_date("as_of", as_of) != portfolio.as_of:
            return prepare(portfolio.portfolio, as_of, window_days=window_days, playbook=playbook or portfolio.playbook)
        return portfolio
    if as_of is None:
        from .errors import ArgumentError

        raise ArgumentError("as_of", as_of, "a date such as '2026-11-29'")
    return prepare(portfolio, as_of, window_days=window_days, playbook=playbook)
