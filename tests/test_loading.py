from __future__ import annotations

import re
import sqlite3

import pandas as pd
import pytest

import playbook
from playbook.cli import main
from playbook.errors import DataValidationError, SourceError
from playbook.loading import load_portfolio, load_table, write_portfolio

from .conftest import ZH_MAPPING


def _assert_same(a: playbook.Portfolio, b: playbook.Portfolio) -> None:
    for t in ("accounts", "interactions", "payments", "history"):
        pd.testing.assert_frame_equal(a.tables()[t], b.tables()[t], obj=t)


def test_parquet_and_utf8_csv_round_trip_to_the_same_portfolio(demo, tmp_path):
    write_portfolio(demo, tmp_path / "pq", fmt="parquet")
    write_portfolio(demo, tmp_path / "csv", fmt="csv", encoding="utf-8-sig")
    pq = load_portfolio(tmp_path / "pq")
    _assert_same(pq, demo)
    _assert_same(load_portfolio(tmp_path / "csv"), pq)
    assert pq.report.ok and pq.report.rows_read == sum(len(f) for f in demo.tables().values())


def test_gbk_export_with_chinese_headers_codes_and_dates_equals_parquet(demo, tmp_path):
    write_portfolio(demo, tmp_path / "pq", fmt="parquet")
    zh = tmp_path / "zh"
    write_portfolio(demo, zh, fmt="csv", mapping=ZH_MAPPING, encoding="gbk")
    # as a Chinese system exports it: local wall-clock times in Chinese and slash date forms
    for name, col, fmt in (("催收记录.csv", "联系时间", "%Y/%m/%d %H:%M:%S"), ("还款记录.csv", "还款时间", "%Y年%m月%d日 %H:%M:%S")):
        f = pd.read_csv(zh / name, encoding="gbk", dtype=str, keep_default_na=False)
        f[col] = pd.to_datetime(f[col]).dt.tz_convert("Asia/Shanghai").dt.strftime(fmt)
        f.to_csv(zh / name, index=False, encoding="gbk")
    raw = (zh / "催收记录.csv").read_bytes()
    assert "已承诺还款".encode("gbk") in raw and "账户编号".encode("gbk") in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    # Urumqi-time accounts were exported in Shanghai wall-clock time, which the mapping declares
    _assert_same(load_portfolio(zh, ZH_MAPPING), load_portfolio(tmp_path / "pq"))


@pytest.mark.parametrize("text", ["2026-11-29", "2026/11/29", "2026年11月29日", "2026年11月29日 08:30:00", "2026/1/5"])
def test_common_date_forms_parse(tmp_path, text):
    pd.DataFrame({"account_id": ["A1"], "balance": [1.0], "overdue_amount": [1.0], "dpd": [3], "product": ["x"]}
                 ).to_csv(tmp_path / "accounts.csv", index=False)
    pd.DataFrame({"account_id": ["A1"], "paid_at": [text], "amount": [5]}).to_csv(tmp_path / "payments.csv", index=False)
    paid = load_portfolio(tmp_path).payments["paid_at"].iloc[0].tz_convert("Asia/Shanghai")
    expected = pd.Timestamp(text.replace("年", "-").replace("月", "-").replace("日", "").replace("/", "-"))
    assert paid.tz_localize(None) == expected


def _corrupt(demo, tmp_path):
    d = tmp_path / "bad"
    write_portfolio(demo, d, fmt="csv")
    acc = pd.read_csv(d / "accounts.csv", dtype=str, keep_default_na=False)
    acc.loc[4, "balance"] = "-120.5"                      # file row 6
    acc.loc[9, "account_id"] = acc.loc[3, "account_id"]   # file row 11 duplicates row 5
    acc.to_csv(d / "accounts.csv", index=False)
    it = pd.read_csv(d / "interactions.csv", dtype=str, keep_default_na=False)
    it = it[it["account_id"].isin(acc["account_id"].iloc[:9].tolist() + acc["account_id"].iloc[10:].tolist())]
    it = it.reset_index(drop=True)
    it.loc[2, "ts"] = "next tuesday"                      # file row 4
    it.loc[7, "outcome"] = "abducted_by_aliens"           # file row 9
    it.to_csv(d / "interactions.csv", index=False)
    pay = pd.read_csv(d / "payments.csv", dtype=str, keep_default_na=False).drop(columns=["amount"])
    pay.to_csv(d / "payments.csv", index=False)
    return d, len(acc), len(it), len(pay)


def test_corrupted_export_exit_2_names_every_problem_and_reconciles(demo, tmp_path, capsys):
    d, n_acc, n_it, n_pay = _corrupt(demo, tmp_path)
    code = main(["validate", str(d)])
    out = capsys.readouterr().out
    assert code == 2
    assert "accounts.csv: row 6: column balance: balance must be >= 0 (value: -120.5)" in out
    assert "accounts.csv: row 11: column account_id: duplicate account_id (first occurrence kept)" in out
    assert "interactions.csv: row 4: column ts: unparseable date/time (value: next tuesday)" in out
    assert re.search(r"interactions\.csv: row 9: column outcome: unknown disposition code; allowed: .*ptp.*abducted_by_aliens", out)
    assert f"payments.csv: all rows: column amount: required column missing ({n_pay} rows rejected)" in out
    m = re.search(r"rows read (\d+) = accepted (\d+) \+ rejected (\d+)", out)
    read, acc, rej = map(int, m.groups())
    assert read == acc + rej == n_acc + n_it + n_pay + 12 * len(demo.accounts)
    # the account whose balance was rejected takes its dependent rows with it, reported, not lost
    assert "account_id not found in accepted accounts" in out


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_rows_of_a_rejected_account_are_reported_at_their_source_rows(tmp_path, fmt):
    """A table with no bad row of its own still names the source row of each row whose account
    was rejected: CSV line numbers (a blank line skipped), Parquet rows counted from 1."""
    pd.DataFrame({"account_id": ["A1", "A2", "A3"], "balance": [1.0, -5.0, 2.0], "overdue_amount": [1.0, 1.0, 1.0],
                  "dpd": [3, 3, 3], "product": ["x", "x", "x"]}).to_csv(tmp_path / "accounts.csv", index=False)
    pay = pd.DataFrame({"account_id": ["A1", "A2", "A3", "A2"], "paid_at": ["2026-11-01"] * 4, "amount": [5, 6, 7, 8]})
    if fmt == "csv":
        lines = pay.to_csv(index=False).splitlines()
        (tmp_path / "payments.csv").write_text("\n".join(lines[:2] + [""] + lines[2:]) + "\n")
        expected = [4, 6]  # header line 1, A1 line 2, blank line 3, A2 line 4, A3 line 5, A2 line 6
    else:
        pay.to_parquet(tmp_path / "payments.parquet", index=False)
        expected = [2, 4]
    report = load_portfolio(tmp_path, on_error="keep_valid").report
    orphans = report.errors[(report.errors["table"] == "payments")]
    assert orphans["row"].astype(int).tolist() == expected
    assert set(orphans["reason"]) == {"account_id not found in accepted accounts"}
    counts = report.counts.set_index("table").loc["payments"]
    assert (counts["read"], counts["accepted"], counts["rejected"]) == (4, 2, 2)


def test_load_portfolio_raises_with_the_report(demo, tmp_path):
    d, *_ = _corrupt(demo, tmp_path)
    with pytest.raises(DataValidationError) as ei:
        load_portfolio(d)
    assert ei.value.report.rows_rejected > 0
    kept = load_portfolio(d, on_error="keep_valid")
    assert len(kept.accounts) == len(demo.accounts) - 2


def test_excel_duckdb_and_sql_url_sources(demo, tmp_path):
    small = playbook.Portfolio(demo.accounts.head(30), demo.interactions[demo.interactions.account_id.isin(demo.accounts.account_id.head(30))],
                               demo.payments[demo.payments.account_id.isin(demo.accounts.account_id.head(30))],
                               demo.history[demo.history.account_id.isin(demo.accounts.account_id.head(30))])
    small = playbook.Portfolio(*(f.reset_index(drop=True) for f in small.tables().values()))
    xlsx = tmp_path / "book.xlsx"
    with pd.ExcelWriter(xlsx) as w:
        for t, f in small.tables().items():
            f = f.copy()
            for c in f.columns:
                if isinstance(f[c].dtype, pd.DatetimeTZDtype):
                    f[c] = f[c].dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
            f.to_excel(w, sheet_name=t, index=False)
    _assert_same(load_portfolio(xlsx), small)

    import duckdb
    db = tmp_path / "p.duckdb"
    con = duckdb.connect(str(db))
    for t, f in small.tables().items():
        con.register("f", f)
        con.execute(f"create table {t} as select * from f")
        con.unregister("f")
    con.close()
    _assert_same(load_portfolio(db), small)

    sq = tmp_path / "p.sqlite"
    with sqlite3.connect(sq) as c:
        for t, f in small.tables().items():
            f.to_sql(t, c, index=False)
    _assert_same(load_portfolio(f"sqlite:///{sq}"), small)


def test_missing_source_and_accounts_are_actionable(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nowhere")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert main(["validate", str(tmp_path)]) == 2
    assert "no accounts table found" in capsys.readouterr().err
    bad = tmp_path / "m.yaml"
    bad.write_text("colums: {}\n", encoding="utf-8")
    with pytest.raises(SourceError, match="field colums"):
        load_portfolio(tmp_path, bad)


def test_caller_frames_are_not_mutated(demo, tmp_path):
    before = demo.accounts.copy()
    write_portfolio(demo, tmp_path, fmt="csv", mapping=ZH_MAPPING, encoding="gbk")
    pd.testing.assert_frame_equal(before, demo.accounts)


def test_unknown_time_zone_and_vulnerability_reason_are_rejected_with_reasons(tmp_path, capsys):
    pd.DataFrame({"account_id": ["A1", "A2", "A3"], "balance": [1.0, 2.0, 3.0], "overdue_amount": [1.0, 1.0, 1.0],
                  "dpd": [3, 4, 5], "product": ["x", "x", "x"], "timezone": ["Asia/Shanghai", "Mars/Olympus", None],
                  "vulnerable": [None, "health", "grumpy"]}).to_csv(tmp_path / "accounts.csv", index=False)
    assert main(["validate", str(tmp_path)]) == 2
    out = capsys.readouterr().out
    assert "accounts.csv: row 3: column timezone: unknown time zone" in out
    assert "accounts.csv: row 4: column vulnerable: unknown vulnerability reason" in out
    assert "rows read 3 = accepted 1 + rejected 2" in out


# ------------------------------------------------------------------------ business time zone


def _one_payment(folder, paid_at="2026-03-29 01:30:00"):
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"account_id": ["A1"], "balance": [1.0], "overdue_amount": [1.0], "dpd": [3], "product": ["x"]}
                 ).to_csv(folder / "accounts.csv", index=False)
    pd.DataFrame({"account_id": ["A1"], "paid_at": [paid_at], "amount": [5]}).to_csv(folder / "payments.csv", index=False)
    return folder


def test_business_time_zone_defaults_to_the_settings_and_the_mapping_overrides_it(tmp_path):
    from playbook.loading import Mapping

    d = _one_payment(tmp_path / "d", "2026-06-01 09:00:00")
    assert Mapping().timezone is None
    default = playbook.load_playbook().timezone
    pf = load_portfolio(d)
    assert pf.timezone == default
    assert pf.payments["paid_at"].iloc[0] == pd.Timestamp("2026-06-01 09:00:00", tz=default)
    london = load_portfolio(d, Mapping(timezone="Europe/London"))
    assert london.timezone == "Europe/London"
    assert london.payments["paid_at"].iloc[0] == pd.Timestamp("2026-06-01 09:00:00", tz="Europe/London")
    m = tmp_path / "m.yaml"
    m.write_text("timezone: Mars/Olympus\n", encoding="utf-8")
    with pytest.raises(SourceError, match="field timezone: .*unknown time zone 'Mars/Olympus'"):
        load_portfolio(d, m)


def test_the_playbook_argument_supplies_the_business_time_zone(tmp_path, content_copy):
    settings = content_copy / "settings.yaml"
    settings.write_text(settings.read_text(encoding="utf-8").replace("timezone: Asia/Shanghai", "timezone: America/New_York"),
                        encoding="utf-8")
    pb = playbook.load_playbook(content_copy)
    assert pb.timezone == "America/New_York"
    d = _one_payment(tmp_path / "d", "2026-06-01 09:00:00")
    pf = load_portfolio(d, playbook=pb)
    assert pf.timezone == "America/New_York"
    assert pf.payments["paid_at"].iloc[0] == pd.Timestamp("2026-06-01 09:00:00", tz="America/New_York")


def test_xlsx_is_written_in_the_portfolios_wall_clock_and_reads_back_with_the_mapping(tmp_path):
    from playbook.loading import Mapping

    pf = load_portfolio(_one_payment(tmp_path / "d", "2026-06-01 09:00:00"), Mapping(timezone="Europe/London"))
    write_portfolio(pf, tmp_path / "x", fmt="xlsx")
    raw = pd.read_excel(tmp_path / "x" / "payments.xlsx")
    assert raw["paid_at"].iloc[0] == pd.Timestamp("2026-06-01 09:00:00")
    back = load_portfolio(tmp_path / "x", Mapping(timezone="Europe/London", files={
        t: f"{t}.xlsx" for t in ("accounts", "interactions", "payments", "history")}))
    _assert_same(back, pf)
    # a mapping's zone wins: the export is read back with the same mapping
    write_portfolio(pf, tmp_path / "y", fmt="xlsx", mapping=Mapping(timezone="Asia/Tokyo"))
    assert pd.read_excel(tmp_path / "y" / "payments.xlsx")["paid_at"].iloc[0] == pd.Timestamp("2026-06-01 17:00:00")


def test_write_portfolio_to_an_unwritable_place_is_a_source_error(demo, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(SourceError, match="cannot write"):
        write_portfolio(demo, blocker / "out")


def test_load_table_reads_a_plan_in_the_business_zone(tmp_path):
    plan = tmp_path / "plan.csv"
    pd.DataFrame({"account_id": ["A1"], "ts": ["2026-06-01 09:00:00"], "channel": ["call"], "direction": ["outbound"],
                  "party": ["debtor"], "outcome": ["no_answer"]}).to_csv(plan, index=False)
    from playbook.loading import Mapping

    got = load_table(plan, "interactions")
    assert got["ts"].iloc[0] == pd.Timestamp("2026-06-01 09:00:00", tz=playbook.load_playbook().timezone)

    got = load_table(plan, "interactions", Mapping(timezone="Europe/London"))
    assert got["ts"].iloc[0] == pd.Timestamp("2026-06-01 09:00:00", tz="Europe/London")


# ------------------------------------------------------------------------ coercion


def test_coerce_numbers_text_and_dates():
    from playbook.coercion import coerce

    s = pd.Series(["¥1,234.50", " 7 ", "", None, "abc", "2.5"], dtype="str")
    v, bad = coerce(s, "float", "UTC")
    assert v.iloc[0] == 1234.5 and v.iloc[1] == 7 and v.iloc[5] == 2.5
    assert bad.tolist() == [False, False, False, False, True, False]
    v, bad = coerce(s, "int", "UTC")
    assert bad.tolist() == [True, False, False, False, True, True] and pd.isna(v.iloc[5]) and v.iloc[1] == 7
    t, bad = coerce(pd.Series([" x ", "", None, 3.0], dtype="object"), "str", "UTC")
    assert t.iloc[0] == "x" and pd.isna(t.iloc[1]) and pd.isna(t.iloc[2]) and not bad.any()
    d, bad = coerce(pd.Series(["2026年3月5日", "2026/3/5", "2026-03-05T23:30:00+00:00", "soon"]), "date", "Asia/Tokyo")
    assert d.iloc[:3].tolist() == [pd.Timestamp("2026-03-05"), pd.Timestamp("2026-03-05"), pd.Timestamp("2026-03-06")]
    assert bad.tolist() == [False, False, False, True]
    m, _ = coerce(pd.Series(["2026年3月", "2026-03-19"]), "month", "UTC")
    assert (m == pd.Timestamp("2026-03-01")).all()


def test_coerce_timestamps_in_the_given_zone():
    from playbook.coercion import coerce

    ts, bad = coerce(pd.Series(["2026-07-01 12:00:00", "2026-07-01T12:00:00Z", None]), "datetime", "Europe/London")
    assert ts.iloc[0] == pd.Timestamp("2026-07-01 11:00:00", tz="UTC")
    assert ts.iloc[1] == pd.Timestamp("2026-07-01 12:00:00", tz="UTC")
    assert str(ts.dtype) == "datetime64[us, UTC]" and not bad.any()
    typed, bad = coerce(pd.Series(pd.to_datetime(["2026-07-01 12:00:00"])), "datetime", "Europe/London")
    assert typed.iloc[0] == pd.Timestamp("2026-07-01 11:00:00", tz="UTC") and not bad.any()


def test_coerce_refuses_unknown_zones_and_kinds():
    from playbook.coercion import coerce
    from playbook.errors import ArgumentError

    with pytest.raises(ArgumentError, match="timezone"):
        coerce(pd.Series(["2026-07-01"]), "date", "Mars/Olympus")
    with pytest.raises(ArgumentError, match="kind"):
        coerce(pd.Series(["1"]), "complex", "UTC")  # type: ignore[arg-type]


def test_skipped_columns_are_not_loaded_and_do_not_change_segments(demo, tmp_path):
    from playbook.commands import segment_skip  # what the segment command leaves out

    skipped = segment_skip()

    write_portfolio(demo, tmp_path / "pq")
    write_portfolio(demo, tmp_path / "csv", fmt="csv")
    full = load_portfolio(tmp_path / "pq")
    for d in ("pq", "csv"):
        part = load_portfolio(tmp_path / d, skip=skipped)
        assert "message" not in part.interactions and "agent_id" not in part.interactions
        assert not any("ignored columns" in n for n in part.report.notes)  # skipped, not "not in the contract"
        assert part.report.counts["read"].tolist() == full.report.counts["read"].tolist()
        for t, frame in part.tables().items():
            pd.testing.assert_frame_equal(frame, full.tables()[t].drop(columns=skipped.get(t, [])))
    pd.testing.assert_frame_equal(playbook.segment(part, "2026-11-29"), playbook.segment(full, "2026-11-29"))


def test_segment_skips_exactly_the_optional_columns_segmentation_does_not_read():
    from playbook.commands import segment_skip
    from playbook.schema import contract
    from playbook.segmentation import COLUMNS_READ

    skip = segment_skip()
    for table, cols in contract([]).items():
        for c in cols:
            assert (c.name in skip.get(table, [])) == (not c.required and c.name not in COLUMNS_READ[table]), c.name


def test_a_renamed_source_feeding_a_skipped_column_is_not_read(tmp_path):
    from playbook.loading import Mapping, _skipped_sources

    m = Mapping.model_validate({"columns": {"interactions": {"msg_text": "message", "who": "agent_id"}},
                      "fields": {"interactions": {"notes": {"from": "who"}}}})
    # msg_text feeds only the skipped message; "who" also feeds notes, which is kept
    assert _skipped_sources(m, {"interactions": frozenset({"message", "agent_id"})}) == {"interactions": frozenset({"msg_text"})}


@pytest.mark.parametrize("skip", [{"interactions": ["ts"]}, {"loans": ["message"]}, ["message"]])
def test_skipping_a_required_or_unknown_column_is_refused(demo, tmp_path, skip):
    from playbook.errors import ArgumentError

    write_portfolio(demo, tmp_path)
    with pytest.raises(ArgumentError, match="skip"):
        load_portfolio(tmp_path, skip=skip)
