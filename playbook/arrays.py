"""Vectorised array helpers shared by every layer: account codes, timestamps, previous events, text checks.

Lowest layer of the package: imports nothing from it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["codes_of", "unique_inverse", "previous_time", "to_ns", "times", "day_end_ns", "local_dates", "wall_times", "padded_or_empty", "all_ascii",
           "BLANKS", "NS_DAY"]

NS_DAY = 86_400_000_000_000


def codes_of(s: pd.Series, values: "pd.Index | pd.Series | list") -> np.ndarray:
    """Position of each element of ``s`` in ``values`` (-1 when absent), via Arrow hashing.

    Avoids turning millions of strings into Python objects.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    vs = pa.array(values if isinstance(values, pd.Series) else [str(v) for v in values], from_pandas=True)
    vs = vs.combine_chunks() if isinstance(vs, pa.ChunkedArray) else vs
    if isinstance(s.dtype, pd.CategoricalDtype):  # look up each category once, then index by the codes
        at = codes_of(pd.Series(s.cat.categories.astype("str")), vs.to_pandas()) if len(s.cat.categories) else \
            np.empty(0, dtype=np.int32)
        table = np.append(at, -1).astype(np.int32)  # the last entry for a missing value (code -1)
        return table[s.cat.codes.to_numpy()]  # one gather over the small integer codes
    arr = pa.array(s, from_pandas=True)
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = arr.cast(pa.large_string())
    vs = vs.cast(arr.type)
    if len(arr) > 2 * len(vs) > 0:
        # rows of an account usually come together: each run of equal values is looked up once
        change = np.asarray(pc.fill_null(pc.not_equal(arr[1:], arr[:-1]), True))
        if change.sum() < len(arr) // 2:
            first = np.concatenate([[True], change])
            at = _sorted_positions(pc.filter(arr, pa.array(first)), vs)
            if at is not None:
                return np.repeat(at, np.diff(np.append(np.flatnonzero(first), len(arr))))
    return pc.fill_null(pc.index_in(arr, value_set=vs), -1).to_numpy()  # int32: half the memory of int64


def unique_inverse(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(key, return_index=True, return_inverse=True)[1:]`` for a 1-d integer
    ``key``, by hashing instead of sorting ``key``: per distinct value in ascending order, the
    position of its first occurrence; per element, the index of its value among them. (Only
    the few distinct values are sorted.)"""
    codes, uniq = pd.factorize(key)  # codes in order of first appearance
    order = np.argsort(uniq, kind="stable")
    rank = np.empty(len(order), dtype="int64")
    rank[order] = np.arange(len(order))
    seen = np.maximum.accumulate(codes)  # rises exactly where a new value first appears
    starts = np.flatnonzero(np.concatenate([[True], seen[1:] != seen[:-1]])) if len(codes) else np.empty(0, "int64")
    return starts[order], rank[codes]


def _fixed_width(arr: "pa.Array") -> np.ndarray | None:
    """The values of a text array without nulls as one NumPy ``S<width>`` view, when all have
    the same byte length and none holds a NUL byte (NumPy pads with NUL); else ``None``."""
    import pyarrow as pa

    if arr.null_count or not len(arr):
        return None
    _, offsets, data = arr.buffers()
    at = np.frombuffer(offsets, dtype=np.int64 if pa.types.is_large_string(arr.type) else np.int32)
    at = at[arr.offset:arr.offset + len(arr) + 1]
    width = int(at[1] - at[0])
    if width == 0 or int(at[-1] - at[0]) != width * len(arr) or (np.diff(at) != width).any():
        return None
    raw = np.frombuffer(data, dtype=np.uint8)[at[0]:at[-1]]
    return None if (raw == 0).any() else raw.view(f"S{width}")


def _sorted_positions(keys: "pa.Array | pa.ChunkedArray", values: "pa.Array") -> np.ndarray | None:
    """Position of each key in ``values`` by binary search, when ``values`` are strictly
    ascending and keys and values are text of one byte length (account ids usually are);
    ``None`` when they are not (the caller hashes instead)."""
    import pyarrow as pa

    v = _fixed_width(values)
    if v is None or not (v[1:] > v[:-1]).all():
        return None
    k = _fixed_width(keys.combine_chunks() if isinstance(keys, pa.ChunkedArray) else keys)
    if k is None or k.dtype != v.dtype:
        return None
    at = np.minimum(np.searchsorted(v, k), len(v) - 1)
    return np.where(v[at] == k, at, -1).astype(np.int32)


def previous_time(acc: np.ndarray, t: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """For each event, the time of the latest earlier event of the same account with ``mask``.

    ``acc`` (integer account codes, < 2**23) and ``t`` (integer seconds, < 2**40) are in
    (account, time) order; ``-1`` where there is no such event. One cumulative maximum over
    an (account, time) key: no per-account loop.
    """
    big = np.int64(1) << 40
    base = np.asarray(acc, dtype="int64") * big
    cm = np.maximum.accumulate(np.where(mask, base + t, base - 1))
    prev = np.concatenate([[np.int64(-1)], cm[:-1]])
    prev = np.where(prev >= base, prev - base, -1)
    if len(prev):
        prev[np.r_[True, acc[1:] != acc[:-1]]] = -1
    return prev


def to_ns(s: pd.Series) -> np.ndarray:
    """Timestamps as int64 nanoseconds since the epoch (UTC for aware values), in one array."""
    v, scale = times(s)
    return v * scale if scale != 1 else v.copy()


def times(s: pd.Series) -> tuple[np.ndarray, int]:
    """Timestamps as int64 since the epoch (UTC for aware values) in the column's own unit,
    and the nanoseconds per unit: the column's own integers where it has them (no copy;
    do not write to them), else nanoseconds."""
    arr = s.array
    if hasattr(arr, "asi8") and hasattr(arr, "unit"):
        return arr.asi8, {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}[arr.unit]
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    return s.astype("datetime64[ns]").to_numpy().astype("int64"), 1


def day_end_ns(day: pd.Timestamp, timezone: str) -> int:
    """End of ``day`` (a naive date) in ``timezone``, as UTC nanoseconds."""
    return (day + pd.Timedelta(days=1)).tz_localize(timezone).tz_convert("UTC").value


def local_dates(s: pd.Series, timezone: str) -> pd.Series:
    """Aware timestamps as naive local wall-clock times in ``timezone``."""
    return s.dt.tz_convert(timezone).dt.tz_localize(None)


def wall_times(ts: pd.Series, zones: "np.ndarray | pd.Series") -> np.ndarray:
    """Aware timestamps as wall-clock times (``datetime64[s]``), each in its own time zone
    (``zones``: one IANA name per row); converted once per distinct zone."""
    zones = np.asarray(zones, dtype=object)
    wall = np.zeros(len(ts), dtype="datetime64[s]")
    for zone in pd.unique(zones):
        m = zones == zone
        wall[m] = local_dates(ts[m], zone).to_numpy().astype("datetime64[s]")
    return wall


#: the code points Arrow's ``utf8_trim_whitespace`` strips (its ``utf8_is_space``)
BLANKS = (*range(0x09, 0x0E), *range(0x1C, 0x21), 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029,
          0x202F, 0x205F, 0x3000)


def _text_chunks(arr: "pa.Array | pa.ChunkedArray"):  # noqa: ANN202 - yields (chunk, offsets, bytes)
    """The Arrow text chunks of ``arr`` that hold a value, with their offsets and bytes as NumPy views."""
    import pyarrow as pa

    for ch in arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]:
        if ch.null_count == len(ch):
            continue
        if not (pa.types.is_string(ch.type) or pa.types.is_large_string(ch.type)):
            ch = ch.cast(pa.large_string())
        _, offsets, data = ch.buffers()
        at = np.frombuffer(offsets, dtype=np.int64 if pa.types.is_large_string(ch.type) else np.int32)
        raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, dtype=np.uint8)
        yield ch, at[ch.offset:ch.offset + len(ch) + 1], raw


def padded_or_empty(arr: "pa.Array | pa.ChunkedArray") -> bool:
    """Whether some text value is empty or starts or ends with a blank (:data:`BLANKS`).

    Only the first and last byte of each value are looked at (one NumPy lookup over the
    column's buffers, no copy of its values); the few values whose edge byte may belong to
    a blank are then trimmed to tell.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    first, last = np.zeros(256, dtype=bool), np.zeros(256, dtype=bool)
    for cp in BLANKS:
        b = chr(cp).encode()
        first[b[0]] = last[b[-1]] = True
    for ch, at, raw in _text_chunks(arr):
        start, end = at[:-1], at[1:]
        filled = end > start
        if ch.null_count:
            valid = np.asarray(ch.is_valid())
            if (valid & ~filled).any():
                return True
            filled &= valid
        elif not filled.all():
            return True
        edge = first[raw[start[filled]]] | last[raw[end[filled] - 1]]
        if edge.any():
            near = ch.filter(pa.array(filled)).filter(pa.array(edge))
            if pc.any(pc.not_equal(pc.binary_length(pc.utf8_trim_whitespace(near)), pc.binary_length(near))).as_py():
                return True
    return False


def all_ascii(arr: "pa.Array | pa.ChunkedArray") -> bool:
    """Whether every text value is ASCII: no byte of the column's buffers is above 127 (only
    when one is, which may be in no value, are the values looked at one by one)."""
    import pyarrow.compute as pc

    for ch, at, raw in _text_chunks(arr):
        if (raw[at[0]:at[-1]] >= 0x80).any() and not pc.all(pc.fill_null(pc.string_is_ascii(ch), True)).as_py():
            return False
    return True
