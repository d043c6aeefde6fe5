"""The fast paths of loading (issue 11, item 7) decide exactly as the per-value paths they skip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from playbook.arrays import BLANKS, all_ascii, codes_of, padded_or_empty
from playbook.coercion import _as_number, _as_time, coerce_typed
from playbook.loading import _grouped_in_order

TEXTS = [["a", " a"], ["a", "a\u3000"], ["中文", "中文。"], ["x", ""], ["x", None, "y "], ["\u00a0x"], ["x\u2029"],
         ["é"], [None, None], ["ok", "fine"], ["\tx"], ["x\n"], ["张三", "李四 "], ["\u2003x"], ["x\u0085"], []]


def test_blanks_are_the_code_points_arrow_trims():
    cps = np.arange(0x110000)
    cps = cps[(cps < 0xD800) | (cps > 0xDFFF)]
    spaces = cps[np.asarray(pc.utf8_is_space(pa.array([chr(c) for c in cps])))]
    assert tuple(int(c) for c in spaces) == BLANKS


@pytest.mark.parametrize("values", TEXTS)
@pytest.mark.parametrize("kind", ["string", "large", "chunked_sliced"])
def test_padded_or_empty_agrees_with_trimming_every_value(values, kind):
    if kind == "string":
        arr = pa.array(values, type=pa.string())
    elif kind == "large":
        arr = pa.array(values, type=pa.large_string())
    else:  # a slice of chunks, whose buffers hold values outside the slice
        arr = pa.chunked_array([pa.array(["  pad  ", *values, ""], type=pa.large_string())]).slice(1, len(values))
    full = pa.chunked_array([arr]) if not isinstance(arr, pa.ChunkedArray) else arr
    length = pc.binary_length(full)
    expected = pc.any(pc.or_(pc.equal(length, 0),
                             pc.not_equal(pc.binary_length(pc.utf8_trim_whitespace(full)), length))).as_py() or False
    assert padded_or_empty(arr) == expected
    assert all_ascii(arr) == (pc.all(pc.fill_null(pc.string_is_ascii(full), True)).as_py() is not False)


def test_codes_of_is_arrow_index_in():
    s = pd.Series(["a", "a", None, None, "b", "c", "c", "c", "zz", "zz"], dtype="str")
    assert codes_of(s, pd.Series(["c", "a"], dtype="str")).tolist() == [1, 1, -1, -1, -1, 0, 0, 0, -1, -1]


@pytest.mark.parametrize("case", ["sorted", "unsorted", "widths", "nul", "nulls", "scattered", "missing"])
def test_codes_of_by_binary_search_equals_hashing(case):
    rng = np.random.default_rng(7)
    ids = [f"A{i:05d}" for i in range(0, 4000, 3)]
    keys = list(np.repeat(ids, rng.integers(1, 8, len(ids))))  # each account's rows together
    if case == "unsorted":
        ids = list(rng.permutation(ids))
    elif case == "widths":
        ids = ids[:-1] + ["A99999X"]
        keys += ["A99999X"] * 5
    elif case == "nul":
        keys = [k if i % 97 else k[:-1] + "\x00" for i, k in enumerate(keys)]
    elif case == "nulls":
        keys = [k if i % 50 else None for i, k in enumerate(keys)]
    elif case == "scattered":
        keys = list(rng.permutation(keys))
    elif case == "missing":
        keys = [k if i % 13 else "A00001" for i, k in enumerate(keys)]  # not an account (ids step by 3)
    s, values = pd.Series(keys, dtype="str"), pd.Series(ids, dtype="str")
    expected = pc.fill_null(pc.index_in(pa.array(keys, pa.large_string()),
                                        value_set=pa.array(ids, pa.large_string())), -1).to_numpy()
    got = codes_of(s, values)
    assert got.dtype == np.int32 and np.array_equal(got, expected)


TYPED = {
    "float": [pd.Series([1.5, np.nan, 0.0]), pd.Series([1.0, np.inf]), pd.Series([1, 2], dtype="int64")],
    "int": [pd.Series([1.0, np.nan, 3.0]), pd.Series([1.5, 2.0]), pd.Series([2.0 ** 60, 1.0]),
            pd.Series([np.nan, np.nan]), pd.Series([-np.inf, 1.0]), pd.Series([-2.0, -0.0, np.nan]),
            pd.Series([-2.5, 1.0]), pd.Series([-(2.0 ** 60), 0.0]), pd.Series([2.0 ** 53, -(2.0 ** 53)]),
            pd.Series([1e-300, 1.0])],
    "datetime": [pd.Series(pd.to_datetime(["2026-03-29 01:30", None], utc=True)),
                 pd.Series(pd.to_datetime(["2026-03-29 01:30", "2026-10-25 01:30"]))],
    "date": [pd.Series(pd.to_datetime(["2026-03-29 23:30", None], utc=True)),
             pd.Series(pd.to_datetime(["1969-12-31 23:00", "2026-01-05 10:00"]))],
    "month": [pd.Series(pd.to_datetime(["2026-03-31 23:30", None], utc=True)),
              pd.Series(pd.to_datetime(["1950-03-15 00:00", "2026-12-31 23:59", None]).astype("datetime64[us]")),
              pd.Series(pd.to_datetime([None, None]).astype("datetime64[us]"))],
}


@pytest.mark.parametrize("kind, series", [(k, s) for k, ss in TYPED.items() for s in ss])
def test_coerce_typed_reads_a_typed_column_as_the_per_value_path_does(kind, series):
    typed = coerce_typed(series, kind, "Europe/London")
    if kind in ("float", "int"):
        values, why = _as_number(series, kind, series.notna(), None, None)
    else:
        values, why = _as_time(series, kind, "Europe/London", series.notna())
    if typed is None:  # left to the per-value path: only when some value has a reason, or is a wall-clock time
        assert why.notna().any() or (kind == "datetime" and series.dt.tz is None)
    else:
        assert why.isna().all()
        pd.testing.assert_series_equal(typed, values)
        if kind == "month":
            expected = series.dt.tz_convert("Europe/London").dt.tz_localize(None) if series.dt.tz else series
            pd.testing.assert_series_equal(typed, expected.dt.to_period("M").dt.to_timestamp().astype("datetime64[us]"),
                                           check_names=False)


@pytest.mark.parametrize("ids, months", [
    (["a", "a", "b", "b"], [1, 2, 1, 3]), (["b", "b", "a", "a"], [1, 2, 1, 3]), (["a", "a", "b", "a"], [1, 2, 1, 3]),
    (["a", "a", "a", "b"], [1, 2, 1, 3]), (["a", "b", "a", "b"], [1, 2, 1, 2]), (["a", None, "b", "b"], [1, 2, 1, 3]),
    (["a", "a", "b", "b"], [1, 1, 1, 2]), (["c", "a", "b", "a"], [1, 1, 1, 2]), (["a"], [1]),
])
def test_grouped_in_order_only_when_no_key_repeats(ids, months):
    frame = pd.DataFrame({"account_id": pd.Series(ids, dtype="str"),
                          "month": pd.to_datetime([f"2026-{m:02d}-01" for m in months]).astype("datetime64[us]")})
    fast = _grouped_in_order(frame, ["account_id", "month"])
    if fast:
        assert not frame.duplicated().any()
    assert fast == (ids in (["a", "a", "b", "b"], ["b", "b", "a", "a"]) and months == [1, 2, 1, 3])


def _contract_cols():
    from playbook.content import load_playbook
    from playbook.schema import contract

    return {c.name: c for cols in contract(load_playbook().disposition_ids()).values() for c in cols}


@pytest.mark.parametrize("name, values", [
    ("balance", [0.0, 5.0, np.nan]), ("balance", [-1.0, 5.0]), ("dpd", [0, 36500]), ("dpd", [0, 36501]),
    ("age", [16.0, 120.0, np.nan]), ("age", [15.0, 40.0]), ("due_day", [np.nan, np.nan]), ("amount", [0.0, 1.0]),
    ("amount", [0.5, 1.0]), ("staff_count", [1.0, np.nan]), ("staff_count", [0.0, 2.0]),
    ("vulnerable", ["health", None]), ("vulnerable", ["health", "sad"]), ("status", ["open", "sold"]),
    ("status", ["open", "gone"]), ("channel", pd.Categorical(["call", "sms"])),
    ("channel", pd.Categorical(["call"], categories=["call", "fax"])), ("account_id", ["A1", "A2", "A3"]),
    ("account_id", ["A2", "A1", "A3"]), ("account_id", ["A1", "A1"]), ("account_id", ["A1", None]),
    ("consent", ["call;sms", None]), ("consent", [None, None]), ("ts", pd.to_datetime(["2026-01-01", None], utc=True)),
])
def test_holds_only_when_pandera_finds_nothing(name, values):
    import pandera.pandas as pa

    from playbook.loading import _holds
    from playbook.schema import pandera_schema

    col = _contract_cols()[name]
    series = pd.Series(values, name=name, dtype="str" if isinstance(values, list) and isinstance(values[0], str) else None)
    try:
        pandera_schema("t", [col]).validate(series.to_frame(), lazy=True)
        clean = True
    except pa.errors.SchemaErrors:
        clean = False
    assert not _holds(col, series) or clean  # never clears a column pandera would fault
    left = (name == "consent" and series.notna().any()  # a pattern is left to pandera
            or name == "account_id" and not series.is_monotonic_increasing  # so are unordered unique ids
            or isinstance(series.dtype, pd.CategoricalDtype) and len(series.cat.categories) > series.nunique())
    if not left:
        assert _holds(col, series) == clean


@pytest.mark.parametrize("case", ["day_starts", "times_of_day", "with_missing", "before_1970"])
def test_day_start_is_numpys_calendar_conversion_of_each_value(case):
    """Dates (e.g. a promised date) are floored to their day by integer arithmetic: the result
    equals NumPy's conversion of every value, before 1970 too; missing dates stay missing."""
    rng = np.random.default_rng(4)
    n = 20_000
    days = np.datetime64("2020-01-01", "D") + rng.integers(0, 3_000, n).astype("timedelta64[D]")
    v = days.astype("datetime64[us]")
    if case != "day_starts":
        v = v + rng.integers(0, 86_400_000_000, n).astype("timedelta64[us]")
    if case == "with_missing":
        v[rng.random(n) < 0.3] = np.datetime64("NaT")
    if case == "before_1970":
        v = v - np.timedelta64(60 * 365, "D").astype("timedelta64[us]")
    s = pd.Series(v)
    out = coerce_typed(s, "date", "Asia/Shanghai")
    expected = v.astype("datetime64[D]").astype("datetime64[us]")
    assert np.array_equal(out.to_numpy(dtype="datetime64[us]").view("int64"), expected.view("int64"))
    if case == "day_starts":
        assert out is s  # nothing to change: the column is shared, not copied


@pytest.mark.parametrize("case", ["month_starts", "mid_month", "with_missing", "every_value_distinct"])
def test_month_start_of_a_long_column_is_each_value_converted(case):
    """A history month column (many rows, few distinct months) is converted once per distinct value:
    the result equals NumPy's conversion of every value, missing months stay missing."""
    rng = np.random.default_rng(3)
    n = 50_000
    months = pd.date_range("2023-01-01", periods=14, freq="MS").to_numpy().astype("datetime64[us]")
    v = months[rng.integers(0, 14, n)]
    if case in ("mid_month", "with_missing"):
        v = v + (rng.integers(0, 27, n) * (rng.random(n) < 0.3)).astype("timedelta64[D]").astype("timedelta64[us]")
    if case == "with_missing":
        v[rng.random(n) < 0.05] = np.datetime64("NaT")
    if case == "every_value_distinct":
        v = (np.datetime64("2000-01-01", "us") + rng.integers(0, 10**15, n).astype("timedelta64[us]"))
    s = pd.Series(v)
    out = coerce_typed(s, "month", "Asia/Shanghai")
    expected = v.astype("datetime64[M]").astype("datetime64[us]")
    assert np.array_equal(out.to_numpy(dtype="datetime64[us]").view("int64"), expected.view("int64"))
    if case == "month_starts":
        assert out is s  # nothing to change: the column is shared, not copied


def test_pandera_looks_only_at_columns_the_reductions_could_not_clear(tmp_path):
    """A clean export is cleared column by column without pandera (not even imported); a
    value that breaks a check still gets its own row, column and reason."""
    import subprocess
    import sys

    import playbook
    from playbook.loading import write_portfolio

    pf = playbook.demo_portfolio(200, 3, "2026-11-29")
    write_portfolio(pf, tmp_path / "clean", fmt="parquet")
    bad = pf.accounts.copy()
    bad.loc[7, "age"] = 130
    write_portfolio(playbook.Portfolio(bad, pf.interactions, pf.payments, pf.history), tmp_path / "bad", fmt="parquet")
    code = ("import sys; from playbook.loading import load_portfolio; "
            "r = load_portfolio(sys.argv[1], on_error='keep_valid').report; "
            "e = r.errors[r.errors['table'] == 'accounts']; "
            "print('pandera' in sys.modules, e[['row', 'column', 'reason']].to_dict('records'))")
    clean = subprocess.run([sys.executable, "-c", code, str(tmp_path / "clean")], capture_output=True, text=True, check=True)
    assert clean.stdout.strip() == "False []"
    broken = subprocess.run([sys.executable, "-c", code, str(tmp_path / "bad")], capture_output=True, text=True, check=True)
    assert broken.stdout.strip() == "True [{'row': 8, 'column': 'age', 'reason': 'age must be 16-120'}]"  # Parquet rows from 1


@pytest.mark.parametrize("key", [[], [5], [3, 1, 3, 2, 1, -7, 2 ** 62], list(np.random.default_rng(5).integers(-50, 50, 10_000))])
def test_unique_inverse_is_numpys_unique_by_hashing(key):
    """The first occurrences and inverse of the distinct values, in ascending order, exactly as
    ``np.unique`` gives them (the reason and treatment texts are built from them)."""
    from playbook.arrays import unique_inverse

    key = np.asarray(key, dtype="int64")
    first, inverse = unique_inverse(key)
    _, first_np, inverse_np = np.unique(key, return_index=True, return_inverse=True)
    assert np.array_equal(first, first_np) and np.array_equal(inverse, inverse_np.reshape(-1))
