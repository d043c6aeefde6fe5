"""The one argument-check helper used across the public API."""

from __future__ import annotations

from typing import Any, Collection

import pandas as pd

from .errors import ArgumentError


def check_choice(name: str, value: Any, allowed: Collection[Any]) -> Any:
    """Return ``value`` if it is one of ``allowed``, else raise :class:`ArgumentError`."""
    if value not in allowed:
        raise ArgumentError(name, value, [str(a) for a in allowed])
    return value


def check_positive_int(name: str, value: Any, *, minimum: int = 1) -> int:
    """Return ``value`` as an int if it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int,)) or value < minimum:
        try:
            import numpy as np

            if isinstance(value, np.integer) and value >= minimum:
                return int(value)
        except ImportError:  # pragma: no cover
            pass
        raise ArgumentError(name, value, f"an integer >= {minimum}")
    return int(value)


def check_date(name: str, value: Any) -> pd.Timestamp:
    """Parse ``value`` (date, string or Timestamp) into a normalised, naive Timestamp."""
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        ts = pd.NaT
    if ts is pd.NaT or pd.isna(ts):
        raise ArgumentError(name, value, "a date such as '2026-11-29'")
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return ts.normalize()
