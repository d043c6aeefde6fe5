"""The data contract: canonical tables and columns, declared once.

Each table is a list of :class:`Col` specs. :func:`pandera_schema` turns a table's specs
into a pandera schema that checks values; :mod:`playbook.loading` coerces raw text into
the declared kinds first, so every problem is reported with a reason a person can act on.
The value checks are declared as :class:`Check` (the name and statistics of pandera's
built-in check); pandera is imported only when some column's values must be looked at one
by one (the loader first clears whole columns from their minimum, maximum and codes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pandera.pandas as pa

Kind = Literal["str", "float", "int", "datetime", "date", "month"]

CHANNELS = ("call", "sms", "email", "letter", "visit", "app", "ivr")
DIRECTIONS = ("outbound", "inbound")
PARTIES = ("debtor", "guarantor", "relative", "colleague", "third_party")
TABLES = ("accounts", "interactions", "payments", "history")

#: code columns of the large tables, held as categoricals in every Portfolio: a few
#: distinct values over millions of rows (one small integer per row instead of a string)
CODED: dict[str, tuple[str, ...]] = {"interactions": ("channel", "direction", "party", "outcome", "tone"),
                                     "history": ("bucket",)}
#: columns that together identify a row: a second row with the same values is rejected
UNIQUE_KEYS: dict[str, tuple[str, ...]] = {"history": ("account_id", "month")}
#: days past due above this (100 years) cannot be right: a wrong unit or a corrupt value
MAX_DPD = 36500
BUCKETS = ("current", "M1", "M2", "M3+")


@dataclass(frozen=True)
class Check:
    """One value check: pandera's built-in check ``name`` with its ``statistics``, and the
    reason reported for a value that fails it."""

    name: Literal["greater_than_or_equal_to", "greater_than", "less_than_or_equal_to", "in_range", "isin",
                  "str_matches"]
    statistics: dict[str, Any]
    error: str

    def to_pandera(self) -> "pa.Check":
        """The same check as a pandera ``Check``."""
        import pandera.pandas as pa

        st = self.statistics
        if self.name == "greater_than_or_equal_to":
            return pa.Check.ge(st["min_value"], error=self.error)
        if self.name == "greater_than":
            return pa.Check.gt(st["min_value"], error=self.error)
        if self.name == "less_than_or_equal_to":
            return pa.Check.le(st["max_value"], error=self.error)
        if self.name == "in_range":
            return pa.Check.in_range(st["min_value"], st["max_value"], error=self.error)
        if self.name == "isin":
            return pa.Check.isin(list(st["allowed_values"]), error=self.error)
        return pa.Check.str_matches(st["pattern"], error=self.error)


@dataclass(frozen=True)
class Col:
    """One canonical column: its kind, whether it is required, and its value checks."""

    name: str
    kind: Kind
    required: bool = False
    checks: tuple[Check, ...] = field(default=(), compare=False)
    unique: bool = False
    pii: bool = False


def _ge0(name: str) -> Check:
    return Check("greater_than_or_equal_to", {"min_value": 0}, f"{name} must be >= 0")


def _dpd_max() -> Check:
    return Check("less_than_or_equal_to", {"max_value": MAX_DPD}, f"dpd must be <= {MAX_DPD} (100 years); is the column in days?")


def _in_range(lo: int, hi: int, error: str) -> Check:
    return Check("in_range", {"min_value": lo, "max_value": hi, "include_min": True, "include_max": True}, error)


def _isin(values: tuple[str, ...] | list[str], what: str, error: str | None = None) -> Check:
    return Check("isin", {"allowed_values": list(values)}, error or f"unknown {what}; allowed: {', '.join(values)}")


# The debtor's tone in a conversation, as the collector recorded it (optional).
TONES = ("calm", "polite", "angry", "upset", "evasive")
VULNERABILITY_REASONS = ("health", "life_event", "resilience", "capability")
# Account status. Accounts in NOT_WORKED are never in a queue or worklist: nothing is owed
# (paid off, closed, settled), the debt belongs to someone else (sold), or collection must
# stop by law (bankrupt, deceased: the estate or the insolvency process takes over).
STATUSES = ("open", "charged_off", "written_off", "paid_off", "closed", "settled", "sold", "bankrupt", "deceased")
NOT_WORKED = ("paid_off", "closed", "settled", "sold", "bankrupt", "deceased")


def _consent_check() -> Check:
    """Channels the debtor consented to, ``;``-separated (e.g. ``call;sms``)."""
    one = "|".join(CHANNELS)
    return Check("str_matches", {"pattern": rf"^\s*({one})(\s*;\s*({one}))*\s*$"},
                 f"consent lists channels separated by ';'; allowed: {', '.join(CHANNELS)}")


def _zones() -> tuple[str, ...]:
    from zoneinfo import available_timezones

    return tuple(sorted(available_timezones()))


def contract(dispositions: list[str]) -> dict[str, list[Col]]:
    """The canonical columns of every table; ``dispositions`` are the allowed outcome codes."""
    zones = _zones()
    return {
        "accounts": [
            Col("account_id", "str", True, unique=True),
            Col("balance", "float", True, (_ge0("balance"),)),
            Col("overdue_amount", "float", True, (_ge0("overdue_amount"),)),
            Col("dpd", "int", True, (_ge0("dpd"), _dpd_max())),
            Col("product", "str", True),
            Col("customer_id", "str"),
            Col("due_day", "int", checks=(_in_range(1, 31, "due_day must be 1-31"),)),
            Col("credit_limit", "float", checks=(_ge0("credit_limit"),)),
            Col("monthly_income", "float", checks=(_ge0("monthly_income"),)),
            Col("occupation", "str"),
            Col("age", "int", checks=(_in_range(16, 120, "age must be 16-120"),)),
            Col("region", "str"),
            Col("timezone", "str", checks=(_isin(zones, "time zone", "unknown time zone; use an IANA name such as Asia/Shanghai"),)),
            Col("external_debts", "float", checks=(_ge0("external_debts"),)),
            Col("vulnerable", "str", checks=(_isin(VULNERABILITY_REASONS, "vulnerability reason"),)),
            Col("assigned_team", "str"),
            Col("status", "str", checks=(_isin(STATUSES, "account status"),)),
            # channels the debtor consented to (e.g. "call;sms") and when (US Reg F 1006.14(b)(3))
            Col("consent_channels", "str", checks=(_consent_check(),)),
            Col("consent_at", "datetime"),
            Col("name", "str", pii=True),
            Col("phone", "str", pii=True),
            Col("id_number", "str", pii=True),
        ],
        "interactions": [
            Col("account_id", "str", True),
            Col("ts", "datetime", True),
            Col("channel", "str", True, (_isin(CHANNELS, "channel"),)),
            Col("direction", "str", True, (_isin(DIRECTIONS, "direction"),)),
            Col("party", "str", True, (_isin(PARTIES, "party"),)),
            Col("outcome", "str", True, (_isin(dispositions, "disposition code"),)),
            Col("ptp_amount", "float", checks=(_ge0("ptp_amount"),)),
            Col("ptp_date", "date"),
            Col("agent_id", "str"),
            Col("duration_s", "float", checks=(_ge0("duration_s"),)),
            Col("contact_ref", "str"),
            Col("message", "str"),
            Col("staff_count", "int", checks=(Check("greater_than_or_equal_to", {"min_value": 1}, "staff_count must be >= 1"),)),
            # channels the debtor consented to in this contact (its time is ts), e.g. "call"
            Col("consent", "str", checks=(_consent_check(),)),
            # the collector's free-text notes (催记): personal data, masked before display
            Col("notes", "str", pii=True),
            Col("tone", "str", checks=(_isin(TONES, "tone"),)),
        ],
        "payments": [
            Col("account_id", "str", True),
            Col("paid_at", "datetime", True),
            Col("amount", "float", True, (Check("greater_than", {"min_value": 0}, "amount must be > 0"),)),
        ],
        "history": [
            Col("account_id", "str", True),
            Col("month", "month", True),
            Col("bucket", "str", True, (_isin(BUCKETS, "bucket"),)),
            Col("dpd", "int", checks=(_ge0("dpd"), _dpd_max())),
            Col("balance", "float", True, (_ge0("balance"),)),
            Col("paid", "float", checks=(_ge0("paid"),)),
        ],
    }


def pandera_schema(table: str, cols: list[Col]) -> "pa.DataFrameSchema":
    """A pandera schema checking values of already-coerced canonical columns."""
    import pandera.pandas as pa

    columns = {
        c.name: pa.Column(
            checks=[check.to_pandera() for check in c.checks],
            nullable=not c.required,
            required=False,  # missing required columns are reported by the loader, per file
            unique=c.unique,
            report_duplicates="exclude_first",
            coerce=False,
        )
        for c in cols
    }
    return pa.DataFrameSchema(columns, name=table, strict=False)


def bucket_of_dpd(dpd):  # noqa: ANN001, ANN201 - numpy/pandas in, same out
    """Map days past due to bucket labels: 0 current, 1-30 M1, 31-60 M2, over 60 M3+."""
    import numpy as np
    import pandas as pd

    d = np.asarray(dpd, dtype="float64")
    idx = np.select([d <= 0, d <= 30, d <= 60], [0, 1, 2], default=3)
    return pd.Categorical.from_codes(idx, categories=list(BUCKETS), ordered=True)
