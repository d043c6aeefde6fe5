"""Per-account features as of a date, derived from interactions, payments and history.

Everything is vectorised: accounts are mapped to integer positions once and counts are
``numpy.bincount`` over those positions; promises are matched to payments with one
``searchsorted`` over a sorted (account, time) key. No per-row Python.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np
import pandas as pd

from ._checks import check_date, check_positive_int
from .content import Playbook, load_playbook
from .arrays import NS_DAY, codes_of, day_end_ns, local_dates, times, to_ns
from .errors import ContentError
from .portfolio import Portfolio
from .schema import BUCKETS

__all__ = ["derive_features", "promise_states", "account_positions", "VOICE_CHANNELS", "COLUMNS_READ"]

VOICE_CHANNELS = ("call", "visit", "ivr")
_COUNTED = {"third_party_count": "third_party_contact", "wrong_number_count": "wrong_number",
            "hang_up_count": "hang_up", "hostile_count": "hostile", "refuse_count": "refuse",
            "dispute_count": "dispute", "hardship_count": "hardship", "callback_count": "callback",
            "plan_request_count": "plan_request", "claims_paid_count": "claims_paid",
            "no_outcome_count": "rpc", "conditional_ptp_count": "conditional_ptp", "plan_agreed_count": "plan_agreed",
            "deflect_count": "deflect", "claims_money_count": "claims_money", "fee_dispute_count": "fee_dispute",
            "hang_up_after_id_count": "hang_up_after_id"}
_SHARES = {"hostile_share": "hostile_count", "refuse_share": "refuse_count", "dispute_share": "dispute_count",
           "hardship_share": "hardship_count", "callback_share": "callback_count", "plan_share": "plan_request_count",
           "hang_up_share": "hang_up_count", "ptp_share": "promises_made", "no_outcome_share": "no_outcome_count",
           "conditional_share": "conditional_ptp_count", "deflect_share": "deflect_count",
           "claims_money_share": "claims_money_count", "fee_dispute_share": "fee_dispute_count",
           "plan_agreed_share": "plan_agreed_count", "hang_up_after_id_share": "hang_up_after_id_count",
           "angry_share": "angry_tone_count", "polite_share": "polite_tone_count"}
# attempts that rang out unanswered (the line works) versus a dead line (off, wrong number)
_UNANSWERED = ("no_answer", "busy", "voicemail", "not_home")
_TONE_COUNTS = {"angry_tone_count": "angry", "polite_tone_count": "polite", "upset_tone_count": "upset",
                "evasive_tone_count": "evasive"}
_NS_DAY = NS_DAY
# the flag bits of an interaction in the one-pass counts of _derive
_VOICE, _RPC, _CONTACT, _UNANSWERED_BIT = 1, 2, 4, 8
#: the contract columns :func:`derive_features` and :func:`promise_states` read, per table
#: (``playbook segment`` loads no other optional column: a column read here must be named here)
COLUMNS_READ: dict[str, tuple[str, ...]] = {
    "accounts": ("account_id", "dpd", "balance", "overdue_amount", "monthly_income", "age", "external_debts",
                 "occupation", "vulnerable", "status"),
    "interactions": ("account_id", "ts", "outcome", "channel", "direction", "tone", "notes", "ptp_amount", "ptp_date"),
    "payments": ("account_id", "paid_at", "amount"),
    "history": ("account_id", "month", "bucket", "dpd"),  # dpd: the loader fills a missing bucket from it
}


def promise_states(interactions: pd.DataFrame, payments: pd.DataFrame, as_of: str | pd.Timestamp, *,
                   timezone: str | None = None,
                   positions: tuple[np.ndarray, np.ndarray] | None = None) -> pd.DataFrame:
    """Classify every promise to pay as ``kept``, ``broken`` or ``pending``.

    A promise is kept when payments made after it, up to the end of the promised date,
    add up to at least the promised amount; broken when the date has passed without that;
    pending when the date is still ahead. Days are counted in ``timezone`` (default: the
    business time zone of ``settings.yaml``). ``positions``: optionally, the account
    position of every row of ``interactions`` and of ``payments``
    (:func:`account_positions`), so no account id is looked up as text.

    Returns the promise rows (``account_id``, ``ts``, ``ptp_amount``, ``ptp_date``) with
    ``paid_by_due`` and ``state`` added.
    """
    day = check_date("as_of", as_of)
    tz = timezone or load_playbook().timezone
    cut = day_end_ns(day, tz)
    rows = np.flatnonzero(codes_of(interactions["outcome"], ["ptp"]) == 0)
    rows = rows[to_ns(interactions["ts"].iloc[rows]) < cut]  # the times of the promises only, not of every row
    p = interactions[["account_id", "ts", "ptp_amount", "ptp_date"]].iloc[rows].copy()
    before = to_ns(payments["paid_at"]) < cut
    pay = payments[before]
    pa, ya = _account_codes(p["account_id"], pay["account_id"], None if positions is None else
                            (positions[0][rows], positions[1][before]))
    base = np.int64(946_684_800)  # seconds at 2000-01-01
    span = np.int64(1 << 33)
    ykey = ya.astype("int64") * span + (to_ns(pay["paid_at"]) // 1_000_000_000 - base)
    order = np.argsort(ykey, kind="stable")
    ykey = ykey[order]
    cum = np.concatenate([[0.0], np.cumsum(pay["amount"].to_numpy()[order])])
    start = pa.astype("int64") * span + (to_ns(p["ts"]) // 1_000_000_000 - base)
    due_date = p["ptp_date"].fillna(local_dates(p["ts"], tz).dt.normalize())
    due_end = to_ns((due_date + pd.Timedelta(days=1)).dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward"))
    end = pa.astype("int64") * span + (due_end // 1_000_000_000 - base)
    paid = cum[np.searchsorted(ykey, end, "left")] - cum[np.searchsorted(ykey, start, "left")]
    amount = p["ptp_amount"].fillna(0).to_numpy()
    kept = paid >= amount - 0.005
    due_passed = due_end <= cut
    p["paid_by_due"] = paid
    p["state"] = np.where(kept, "kept", np.where(due_passed, "broken", "pending"))
    _release_arrow_memory()  # the lookups' and sort's temporaries are freed: give them back
    return p


def _account_codes(a: pd.Series, b: pd.Series, positions: tuple[np.ndarray, np.ndarray] | None,
                   ) -> tuple[np.ndarray, np.ndarray]:
    """A code per account for the ids ``a`` and ``b``: the order in which the accounts first
    appear in ``a`` then ``b``. From their account positions when given and every id has
    one (whole numbers, no text hashed), else from the ids."""
    if positions is not None and len(positions[0]) + len(positions[1]):
        both = np.concatenate(positions)
        if both.min() >= 0:
            first = pd.unique(both)
            code = np.empty(int(both.max()) + 1, dtype="int64")
            code[first] = np.arange(len(first))
            return code[positions[0]], code[positions[1]]
    ids = pd.Series(pd.concat([a, b]).unique())
    return codes_of(a, ids), codes_of(b, ids)


def derive_features(portfolio: Portfolio, as_of: str | pd.Timestamp, *, window_days: int = 90,
                    playbook: Playbook | None = None, promises: pd.DataFrame | None = None,
                    on_promises: Callable[[pd.DataFrame], object] | None = None) -> pd.DataFrame:
    """Per-account features as of ``as_of`` (one row per account, in account order).

    Parameters
    ----------
    portfolio : Portfolio
    as_of : date-like
        Events up to the end of this day count.
    window_days : int
        Interactions and payments of the last ``window_days`` days count towards the
        counts, rates and amounts; recency features look at the whole past.
    playbook : Playbook, optional
        Supplies the disposition flags (contact, right-party contact, promise) and the
        business time zone days are counted in.
    promises : DataFrame, optional
        :func:`promise_states` already computed for ``as_of`` (e.g. by a prepared bundle).
    on_promises : callable, optional
        Without ``promises``: called with the promise states computed here (beside the
        counts, on the second core), e.g. to keep them.

    Notes
    -----
    ``attempts`` counts outbound voice and in-person attempts (call, visit, IVR);
    ``rpc_rate`` and ``contact_rate`` are right-party contacts and contacts among those
    attempts, divided by ``attempts`` (inbound contacts count in ``rpc_count`` only);
    each ``*_share`` is its count divided by ``rpc_count``; ``ptp_kept_rate = kept /
    (kept + broken)``; ``payment_to_overdue = amount_paid / overdue_amount``;
    ``debt_to_income = (balance + external_debts) / monthly_income``.
    """
    day = check_date("as_of", as_of)
    window_days = check_positive_int("window_days", window_days)
    pb = playbook or load_playbook()
    acc = portfolio.accounts
    n = len(acc)
    ids = acc["account_id"]
    index = pd.Index(ids)
    tz = pb.timezone_of(portfolio)
    cut = day_end_ns(day, tz)
    start = cut - window_days * _NS_DAY

    # history and promises are independent of the interaction counts: run them beside them
    # (Arrow and NumPy release the GIL, so the second core does real work)
    pool = ThreadPoolExecutor(max_workers=2)
    try:
        hist_job = pool.submit(_then_release, _history_features, portfolio, day, n)
        if promises is None:
            promise_job = pool.submit(_then_release, promise_states, portfolio.interactions, portfolio.payments, day,
                                      timezone=tz, positions=(account_positions(portfolio, "interactions"),
                                                              account_positions(portfolio, "payments")))

            def get_promises() -> pd.DataFrame:
                ps = promise_job.result()
                if on_promises is not None:
                    on_promises(ps)
                return ps
        else:
            def get_promises() -> pd.DataFrame:
                return promises
        return _derive(portfolio, pb, n, ids, index, cut, start, get_promises, hist_job.result, promises is None)
    finally:
        pool.shutdown(wait=True)  # also when a step fails: no thread outlives the call
        _release_arrow_memory()


def account_positions(portfolio: Portfolio, table: str) -> np.ndarray:
    """Per row of ``table``, the position of its ``account_id`` among the accounts (-1: none).

    The positions the portfolio keeps (e.g. from the orphan check of loading) when they are
    still valid for its tables; else looked up once and kept.
    """
    pos = portfolio.known_positions(table)
    if pos is None:
        pos = codes_of(getattr(portfolio, table)["account_id"], portfolio.accounts["account_id"])
        portfolio.keep_positions(table, pos)
        kept = portfolio.known_positions(table)
        pos = pos if kept is None else kept
    return pos


def _then_release(fn, *args, **kwargs):  # noqa: ANN001, ANN202 - runs one side job in a worker thread
    """``fn(*args, **kwargs)``, then the memory Arrow's pool keeps for this thread is released
    (each thread has its own part of the pool)."""
    try:
        return fn(*args, **kwargs)
    finally:
        _release_arrow_memory()


def _release_arrow_memory() -> None:
    """Hand freed memory back to the system: what Arrow's pool keeps after the string lookups
    (their temporaries are freed, but the pool would otherwise hold them for reuse), and
    what the C allocator keeps of freed NumPy arrays (glibc only; elsewhere nothing)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    _malloc_trim()


def _malloc_trim() -> None:
    import ctypes
    import ctypes.util

    global _LIBC
    if _LIBC is None:
        try:
            _LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _LIBC.malloc_trim.argtypes = [ctypes.c_size_t]
        except (OSError, AttributeError):
            _LIBC = False
    if _LIBC:
        _LIBC.malloc_trim(0)


_LIBC = None


def _derive(portfolio: Portfolio, pb: Playbook, n: int, ids: pd.Series, index: pd.Index, cut: int, start: int,
            promises, history, own_promises: bool) -> pd.DataFrame:  # noqa: ANN001 - callables yielding the side results
    acc = portfolio.accounts
    it = portfolio.interactions
    its, unit = times(it["ts"])  # the column's own integers (no copy): the bounds are put in its unit
    cut_u, start_u = cut // unit, start // unit
    inwin = (its < cut_u) & (its >= start_u)
    pos = account_positions(portfolio, "interactions")
    disp = list(pb.dispositions)
    ocode = codes_of(it["outcome"], disp)  # the outcome codes are read once; every flag is a table on them
    w_pos = pos[inwin]
    w_code = ocode[inwin]

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(w_pos[mask[inwin]], minlength=n)  # int64: the block stores it as float64

    def table(values: list[bool]) -> np.ndarray:  # per outcome code, the last entry for unknown codes (-1)
        return np.array(values + [False])

    flag = pb.disposition_flags(it["outcome"], ("rpc", "contact"), codes=ocode)
    is_rpc, is_contact = flag["rpc"], flag["contact"]
    del flag
    rpc_before = is_rpc & (its < cut_u)
    last_rpc = _days_since(pos[rpc_before], its[rpc_before], n, cut_u, _NS_DAY // unit)
    del rpc_before, its  # the timestamps are not needed again: free them early
    voice = (codes_of(it["channel"], VOICE_CHANNELS) >= 0) & (codes_of(it["direction"], ["outbound"]) == 0)
    counted = list(dict.fromkeys(_COUNTED.values()))
    slot = np.full(len(disp) + 1, len(counted), dtype="int64")  # outcomes not counted share the last slot
    for i, code in enumerate(counted):
        slot[disp.index(code)] = i
    w_slot = slot.astype("int16")[w_code]  # per event in the window, its counted code (2 bytes each)
    del w_code
    f = _Store(list(pb.features), n)  # the float features are written straight into the frame's block
    for col in ("dpd", "balance", "overdue_amount", "monthly_income", "age", "external_debts"):
        f[col] = acc[col].to_numpy(dtype="float64")
    rate = pb.settings.rate_of(portfolio.currency or pb.currency)  # NaN: no rate for the book's currency
    f["overdue_amount_ref"] = f["overdue_amount"] * rate
    f["balance_ref"] = f["balance"] * rate
    f["monthly_income_ref"] = f["monthly_income"] * rate
    f["occupation"] = acc["occupation"].array
    f["vulnerable_reason"] = acc["vulnerable"].fillna("").array
    f["status"] = (acc["status"].fillna("open").array if "status" in acc else np.full(n, "open", dtype=object))
    if all(u in disp for u in _UNANSWERED):
        unanswered = table([d in _UNANSWERED for d in disp])[ocode]
    else:
        unanswered = codes_of(it["outcome"], _UNANSWERED) >= 0
    # each event's four flags as one small code, counted per account in one pass: every
    # count below is a sum of some of the 16 (account, flags) counts
    flags = voice.view("int8") | (is_rpc.view("int8") << 1) | (is_contact.view("int8") << 2) \
        | (unanswered.view("int8") << 3)
    del unanswered, is_contact
    by_flags = _grouped_counts(w_pos, flags[inwin], 16, n)
    del flags

    def total(*bits: int) -> np.ndarray:  # events holding every one of ``bits``
        want = sum(bits)
        out = np.zeros(n, dtype="int64")
        for k in range(16):
            if k & want == want:
                out += by_flags[k]
        return out

    f["attempts"] = total(_VOICE)
    f["rpc_count"] = total(_RPC)
    f["contact_count"] = total(_CONTACT)
    attempts, rpc_count = f["attempts"], f["rpc_count"]
    with np.errstate(divide="ignore", invalid="ignore"):
        f["rpc_rate"] = np.where(attempts > 0, total(_RPC, _VOICE) / attempts, np.nan)
        f["contact_rate"] = np.where(attempts > 0, total(_CONTACT, _VOICE) / attempts, np.nan)
    f["unanswered_count"] = total(_UNANSWERED_BIT, _VOICE)
    del by_flags
    with np.errstate(divide="ignore", invalid="ignore"):
        f["unanswered_share"] = np.where(attempts > 0, f["unanswered_count"] / attempts, np.nan)
    per_code = _grouped_counts(w_pos, w_slot, len(counted), n)
    del w_slot
    for col, code in _COUNTED.items():
        f[col] = per_code[counted.index(code)]
    del per_code
    if "tone" in it.columns and it["tone"].notna().any():  # an export that records no tone: zeros, no passes
        tone = codes_of(it["tone"], list(_TONE_COUNTS.values()))
        w_tone = tone[inwin].astype("int8")  # 4 tones (-1: another or none)
        del tone
        for col, counts in zip(_TONE_COUNTS, _grouped_counts(w_pos, w_tone, len(_TONE_COUNTS), n)):
            f[col] = counts
        del w_tone
    else:
        for col in _TONE_COUNTS:
            f[col] = 0.0
    del ocode
    hits = _note_hits(it, pb, inwin)
    for nc in pb.note_cues:  # a cue no note matches counts 0 without a pass over the interactions
        f[nc.feature] = count(hits[nc.feature]) if nc.feature in hits else 0.0
    del hits
    del w_pos, voice, is_rpc  # the per-interaction arrays are done with

    ps = promises()
    _release_arrow_memory()  # the string lookups so far (here and in the promise thread) are done
    ps_in = to_ns(ps["ts"]) >= start
    ppos = _promise_positions(ps, it, pos, ids, own_promises)[ps_in]
    state = codes_of(ps["state"], ["kept", "broken", "pending"])[ps_in]
    f["promises_made"] = np.bincount(ppos, minlength=n)
    for i, s in enumerate(("kept", "broken", "pending")):
        f[f"promises_{s}"] = np.bincount(ppos[state == i], minlength=n)
    lead = _promise_lead_days(ps, ps_in, pb.timezone_of(portfolio))
    dated = ~np.isnan(lead)
    n_dated = np.bincount(ppos[dated], minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        f["ptp_lead_days"] = np.where(n_dated > 0, np.bincount(ppos[dated], weights=lead[dated], minlength=n) / n_dated,
                                      np.nan)
    del lead, dated, n_dated
    with np.errstate(divide="ignore", invalid="ignore"):
        due = f["promises_kept"] + f["promises_broken"]
        f["ptp_kept_rate"] = np.where(due > 0, f["promises_kept"] / due, np.nan)
        for col, num in _SHARES.items():
            f[col] = np.where(rpc_count > 0, f[num] / rpc_count, np.nan)

    pay = portfolio.payments
    pts = to_ns(pay["paid_at"])
    ppos_all = account_positions(portfolio, "payments")
    before = pts < cut
    pw = before & (pts >= start)
    f["amount_paid"] = np.bincount(ppos_all[pw], weights=pay["amount"].to_numpy()[pw], minlength=n)
    f["payment_count"] = np.bincount(ppos_all[pw], minlength=n)
    f["days_since_last_payment"] = _days_since(ppos_all[before], pts[before], n, cut)
    f["days_since_last_rpc"] = last_rpc
    del inwin
    with np.errstate(divide="ignore", invalid="ignore"):
        f["payment_to_overdue"] = np.where(f["overdue_amount"] > 0, f["amount_paid"] / f["overdue_amount"], np.nan)
        debt = f["balance"] + np.where(np.isnan(f["external_debts"]), 0.0, f["external_debts"])
        f["debt_to_income"] = np.where(f["monthly_income"] > 0, debt / f["monthly_income"], np.nan)

    del ppos_all, pts, before, pw, pos
    f["months_delinquent_12m"], f["worst_bucket_12m"] = history()
    _release_arrow_memory()
    missing = set(pb.features) - set(f)
    if missing:  # the content promises features the code does not compute
        raise ContentError([("features.yaml", f"features (id: {m})", "id", "declared but not derived by the code")
                            for m in sorted(missing)])
    return f.frame(index)


_TEXT_FEATURES = ("occupation", "vulnerable_reason", "status")


class _Store(dict):
    """The features being derived. The declared numeric ones are written straight into the
    rows of one float64 block (the frame's storage: no per-column copy afterwards); the
    others are kept as they are."""

    def __init__(self, names: list[str], n: int) -> None:
        super().__init__()
        self.names = names
        self.floats = [c for c in names if c not in _TEXT_FEATURES]
        self.rows = {c: i for i, c in enumerate(self.floats)}
        self.block = np.empty((len(self.floats), n), dtype="float64")

    def __setitem__(self, key: str, value: object) -> None:
        if key in self.rows:
            row = self.block[self.rows[key]]
            row[...] = value  # counts (int64) become float64 as astype would
            value = row
        super().__setitem__(key, value)

    def frame(self, index: pd.Index) -> pd.DataFrame:
        out = pd.DataFrame(self.block.T, index=index, columns=self.floats, copy=False)
        for i, c in enumerate(self.names):
            if c not in self.rows:
                out.insert(i, c, self[c])
        return out


def _grouped_counts(pos: np.ndarray, group: np.ndarray, k: int, n: int) -> list[np.ndarray]:
    """Per group ``0..k-1``, how many of its elements each position ``0..n-1`` holds (groups
    outside ``0..k-1`` are not counted): the counted elements sorted by group (radix, small
    integers), then one ``bincount`` per group over its own elements only."""
    if len(group) and not (group.min() >= 0 and group.max() < k):  # leave out the elements of no group
        rows = np.flatnonzero((group >= 0) & (group < k))
        group, pos = group[rows], pos[rows]
        del rows
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(k + 1))
    pos = pos[order]
    del order
    return [np.bincount(pos[bounds[i]:bounds[i + 1]], minlength=n) for i in range(k)]


def _promise_positions(ps: pd.DataFrame, it: pd.DataFrame, pos: np.ndarray, ids: pd.Series,
                       own: bool = False) -> np.ndarray:
    """The account position of each promise. Promises are interaction rows (their index
    labels are positions when the interactions have the default index): their positions
    are taken from ``pos`` when the rows match (``own``: ``ps`` was just derived from ``it``
    by :func:`promise_states`, so they do), else the account ids are looked up."""
    if (isinstance(it.index, pd.RangeIndex) and it.index.start == 0 and it.index.step == 1
            and pd.api.types.is_integer_dtype(ps.index.dtype) and len(ps)):
        rows = ps.index.to_numpy()
        if own:
            return pos[rows]
        if rows.min() >= 0 and rows.max() < len(it):
            import pyarrow as pa
            import pyarrow.compute as pc

            same_ts = np.array_equal(to_ns(ps["ts"]), to_ns(it["ts"].take(rows)))
            if same_ts:
                a = pa.array(ps["account_id"], from_pandas=True)
                b = pa.array(it["account_id"].array.take(rows), from_pandas=True)
                if len(a) == len(b) and a.null_count == 0 and pc.all(pc.equal(a, b.cast(a.type))).as_py():
                    return pos[rows]
    return codes_of(ps["account_id"], ids)


def _promise_lead_days(ps: pd.DataFrame, rows: np.ndarray, tz: str) -> np.ndarray:
    """Days from each selected promise (its local day in ``tz``) to the date promised; NaN
    for a promise without a date."""
    when = ps["ts"][rows]
    day = local_dates(when, tz).dt.normalize()
    promised = ps["ptp_date"][rows]
    return ((promised - day) / pd.Timedelta(days=1)).to_numpy(dtype="float64", na_value=np.nan)


def _note_hits(it: pd.DataFrame, pb: Playbook, inwin: np.ndarray) -> dict[str, np.ndarray]:
    """Per note cue of ``features.yaml`` whose phrases some note contains, which interactions'
    notes contain one of them (a cue no note matches is left out: it counts 0).

    Each distinct note text is searched once (notes repeat), case-insensitively, and only
    notes inside the window are read. Without a ``notes`` column nothing matches.
    """
    out: dict[str, np.ndarray] = {}
    if not pb.note_cues or "notes" not in it.columns:
        return out
    notes = it["notes"]
    present = inwin & notes.notna().to_numpy()
    if not present.any():
        return out
    codes, uniq = pd.factorize(notes[present].astype(str))
    text = pd.Series(uniq, dtype=object).str.lower()
    for nc in pb.note_cues:
        pattern = "|".join(re.escape(p.lower()) for p in nc.zh + nc.en)
        found = text.str.contains(pattern, regex=True).to_numpy(dtype=bool)
        if found.any():
            hit = out.setdefault(nc.feature, np.zeros(len(it), dtype=bool))
            hit[present] |= found[codes]
    return out


def _history_features(portfolio: Portfolio, day: pd.Timestamp, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Delinquent months and worst bucket over the 12 months ending in ``day``'s month."""
    h = portfolio.history
    month_end = day.to_period("M").to_timestamp()
    hi, lo = np.datetime64(month_end, "ns"), np.datetime64(month_end - pd.DateOffset(months=12), "ns")
    hm = h["month"].to_numpy()
    if hm.dtype.kind == "M" and hi.astype(hm.dtype).astype("datetime64[ns]") == hi and \
            lo.astype(hm.dtype).astype("datetime64[ns]") == lo:  # the bounds exact in the column's unit: no copy
        hi, lo = hi.astype(hm.dtype), lo.astype(hm.dtype)
    else:
        hm = hm.astype("datetime64[ns]")
    hwin = (hm <= hi) & (hm > lo)
    del hm
    every = bool(hwin.all())  # the usual export: every row inside the 12 months, no subset copies
    code = codes_of(h["bucket"], BUCKETS)
    code = code.astype("int8") if every else code[hwin].astype("int8")  # 4 buckets (-1: unknown)
    hpos = account_positions(portfolio, "history")
    if not every:
        hpos = hpos[hwin]
    del hwin
    months = np.bincount(hpos[code > 0], minlength=n).astype("float64")
    worst = np.full(n, -1, dtype="int64")
    np.maximum.at(worst, hpos, code)
    return months, np.where(worst >= 0, worst, np.nan)


def _days_since(pos: np.ndarray, ts: np.ndarray, n: int, cut: int, day: int = _NS_DAY) -> np.ndarray:
    """Whole days from each account's latest ``ts`` to ``cut`` (``day``: a day in their unit)."""
    last = np.full(n, np.iinfo("int64").min, dtype="int64")
    np.maximum.at(last, pos, ts)
    out = (cut - last) / day
    return np.where(last == np.iinfo("int64").min, np.nan, np.floor(out))
