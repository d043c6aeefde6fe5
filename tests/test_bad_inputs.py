"""A catalogue of bad inputs: each gives exit 2 (or a documented warning) naming the file,
the line as a person sees it, the column and the reason, and counts always reconcile
(rows read = accepted + rejected). Never a traceback, never a silently changed value."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

import playbook
from playbook.cli import main
from playbook.loading import load_portfolio, write_portfolio

ACC_HEAD = "account_id,balance,overdue_amount,dpd,product\n"
GOOD = "A1,100.0,10.0,5,card\n"
IT_HEAD = "account_id,ts,channel,direction,party,outcome\n"


def _write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(text.encode(encoding))
    return folder


def _validate(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["validate", *map(str, args)])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def _reconciles(out: str, read: int, rejected: int) -> None:
    m = re.search(r"rows read (\d+) = accepted (\d+) \+ rejected (\d+)", out)
    assert m, out
    r, a, j = map(int, m.groups())
    assert r == a + j and r == read and j == rejected, out


def _mapping(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "mapping.yaml"
    p.write_text(text, encoding="utf-8")
    return p


# ------------------------------------------------------------------------ numbers


@pytest.mark.parametrize("row, column, reason", [
    ("A2,inf,1,5,card", "balance", "not a finite number (value: inf)"),
    ("A2,1e400,1,5,card", "balance", "not a finite number (value: 1e400)"),
    ("A2,-Infinity,1,5,card", "balance", "not a finite number"),
    ("A2,100,1,1e20,card", "dpd", "out of range for a whole number"),
    ("A2,100,1,40000,card", "dpd", "dpd must be <= 36500"),
    ('A2,"1.234,50",1,5,card', "balance", "ambiguous decimal format; declare the decimal mark in the mapping"),
    ('A2,"1,5",1,5,card', "balance", "ambiguous decimal format"),
    ("A2,100,1,5,NULL", "product", "a missing-value placeholder in a required column"),
    ("NaN,100,1,5,card", "account_id", "a missing-value placeholder in a required column"),
    ("A2,13.5%,1,5,card", "balance", "a percent value; declare `format: percent`"),
])
def test_bad_numbers_and_placeholders(tmp_path, capsys, row, column, reason):
    d = _write(tmp_path / "d", "accounts.csv", ACC_HEAD + GOOD + row + "\n")
    code, out, _ = _validate(capsys, d)
    assert code == 2
    assert f"accounts.csv: row 3: column {column}: {reason}" in out
    _reconciles(out, 2, 1)


def test_a_declared_decimal_mark_reads_european_numbers(tmp_path, capsys):
    d = _write(tmp_path / "d", "accounts.csv", ACC_HEAD + 'A1,"1.234,50","0,5",5,card\n')
    m = _mapping(tmp_path, "decimal: ','\n")
    pf = load_portfolio(d, m)
    assert pf.accounts["balance"].iloc[0] == 1234.5 and pf.accounts["overdue_amount"].iloc[0] == 0.5
    d2 = _write(tmp_path / "d2", "accounts.csv", ACC_HEAD + "A1,1.5,1,5,card\n")
    code, out, _ = _validate(capsys, d2, "--mapping", m)
    assert code == 2 and "row 2: column balance: does not match the declared decimal mark ','" in out


def test_placeholders_in_optional_columns_are_kept_with_a_warning_or_declared_missing(tmp_path, capsys):
    d = _write(tmp_path / "d", "accounts.csv", "account_id,balance,overdue_amount,dpd,product,occupation,age\n"
                                               "A1,1,1,5,card,NULL,NULL\nA2,1,1,5,card,N/A,40\n")
    code, out, _ = _validate(capsys, d)
    assert code == 2  # NULL is not a number
    assert "accounts.csv: row 2: column age: not a whole number (value: NULL)" in out
    assert "occupation: 2 values look like missing-value placeholders and are kept as text: 'NULL' (1), 'N/A' (1)" in out
    pf = load_portfolio(d, _mapping(tmp_path, "missing: ['NULL', 'N/A']\n"))
    assert pf.accounts["occupation"].isna().all() and pf.accounts["age"].isna().iloc[0]


# ------------------------------------------------------------------------ history and timestamps


def test_duplicated_account_month_in_history(tmp_path, capsys):
    d = _write(tmp_path / "d", "accounts.csv", ACC_HEAD + GOOD)
    _write(d, "history.csv", "account_id,month,bucket,balance\nA1,2026-09,current,100\nA1,2026-10,M1,100\n"
                             "A1,2026-10-15,M2,100\n")
    code, out, _ = _validate(capsys, d)
    assert code == 2
    assert "history.csv: row 4: column month: duplicate (account_id, month): row 3 has the same account_id and month" in out
    _reconciles(out, 4, 1)


def test_timestamps_far_in_the_future_are_refused(tmp_path, capsys):
    d = _write(tmp_path / "d", "accounts.csv", ACC_HEAD + GOOD)
    _write(d, "interactions.csv", IT_HEAD + "A1,2026-11-01 10:00:00,call,outbound,debtor,no_answer\n"
                                            "A1,2099-01-01 10:00:00,call,outbound,debtor,no_answer\n")
    code, out, _ = _validate(capsys, d)
    assert code == 2
    assert "interactions.csv: row 3: column ts: more than 366 days after today" in out
    _reconciles(out, 3, 1)


def test_rows_after_the_as_of_date_are_flagged_and_kept(tmp_path):
    d = _write(tmp_path / "d", "accounts.csv", ACC_HEAD + GOOD)
    _write(d, "interactions.csv", IT_HEAD + "A1,2026-11-01 10:00:00,call,outbound,debtor,no_answer\n"
                                            "A1,2026-11-20 10:00:00,call,outbound,debtor,no_answer\n")
    pf = load_portfolio(d, as_of="2026-11-10")
    assert len(pf.interactions) == 2
    assert any("interactions: 1 rows have ts after the as-of date 2026-11-10" in n for n in pf.report.notes)


@pytest.mark.parametrize("ts, reason", [
    ("2026-03-29 01:30:00", "local time does not exist in Europe/London (clocks go forward)"),
    ("2026-10-25 01:30:00", "ambiguous local time in Europe/London (clocks go back, it happens twice)"),
])
def test_dst_gaps_and_folds_are_reported_as_such(tmp_path, capsys, ts, reason):
    d = _write(tmp_path / "d", "accounts.csv", ACC_HEAD + GOOD)
    _write(d, "payments.csv", f"account_id,paid_at,amount\nA1,2026-03-29 03:30:00,5\nA1,{ts},5\n"
                              "A1,2026-10-25 01:30:00+01:00,5\n")
    code, out, _ = _validate(capsys, d, "--mapping", _mapping(tmp_path, "timezone: Europe/London\n"))
    assert code == 2
    assert f"payments.csv: row 3: column paid_at: {reason}; give the time with its UTC offset (value: {ts})" in out
    _reconciles(out, 4, 1)


# ------------------------------------------------------------------------ text and encodings


def test_utf8_read_as_latin1_is_reported_as_double_encoded(tmp_path, capsys):
    d = _write(tmp_path / "d", "accounts.csv", "account_id,balance,overdue_amount,dpd,product,name\n"
                                               "A1,1,1,5,card,José\nA2,1,1,5,card,张三\n")
    code, out, _ = _validate(capsys, d, "--mapping", _mapping(tmp_path, "encoding: latin-1\n"))
    assert code == 2
    assert "accounts.csv: row 2: column name: text looks double-encoded (UTF-8 read as Latin-1/cp1252): it reads 'José' as UTF-8" in out
    assert "row 3: column name: text looks double-encoded" in out and "'张三'" in out
    _reconciles(out, 2, 2)
    assert load_portfolio(d).accounts["name"].tolist() == ["José", "张三"]  # read as UTF-8: fine


# ------------------------------------------------------------------------ rows and columns


def test_a_short_line_is_rejected_by_its_line_number(tmp_path, capsys):
    d = _write(tmp_path / "d", "accounts.csv", ACC_HEAD + GOOD + "A2,100,10\n" + "A3,100,10,5,card\n")
    code, out, _ = _validate(capsys, d)
    assert code == 2
    assert "accounts.csv: row 3: column dpd: line has 3 fields, the header has 5: dpd, product missing" in out
    _reconciles(out, 3, 1)


def test_an_extra_field_on_the_first_row_is_rejected_not_a_traceback(tmp_path, capsys):
    d = _write(tmp_path / "d", "accounts.csv", ACC_HEAD + "A1,100,10,5,card,surprise\n" + "A2,100,10,5,card\n")
    code, out, err = _validate(capsys, d)
    assert code == 2 and "Traceback" not in err
    assert "accounts.csv: row 2: column field 6: line has 6 fields, the header has 5 (an unquoted separator?) (value: surprise)" in out
    _reconciles(out, 2, 1)


def test_line_numbers_count_blank_lines_and_quoted_line_breaks(tmp_path, capsys):
    d = _write(tmp_path / "d", "accounts.csv", ACC_HEAD + 'A1,100,10,5,"two\nlines"\n\nA2,-5,10,5,card\n')
    code, out, _ = _validate(capsys, d)
    assert code == 2 and "accounts.csv: row 5: column balance: balance must be >= 0" in out


def test_duplicate_column_names_are_refused(tmp_path, capsys):
    d = _write(tmp_path / "d", "accounts.csv", "account_id,balance,overdue_amount,dpd,product,balance\n"
                                               "A1,100,10,5,card,7\n")
    code, out, _ = _validate(capsys, d)
    assert code == 2
    assert ("accounts.csv: all rows: column balance: duplicate column name: the header names 'balance' in columns "
            "2 and 6; rename one in the export (or drop it) (1 rows rejected)") in out
    _reconciles(out, 1, 1)


def test_two_sources_for_one_column_are_refused(tmp_path, capsys):
    d = _write(tmp_path / "d", "accounts.csv", "account_id,balance,overdue_amount,dpd,product,out_prncp\n"
                                               "A1,100,10,5,card,90\n")
    code, out, _ = _validate(capsys, d, "--mapping", _mapping(tmp_path, "columns: {accounts: {out_prncp: balance}}\n"))
    assert code == 2
    assert "accounts.csv: all rows: column balance: two source columns for balance: the file's own 'balance' and 'out_prncp'" in out
    _reconciles(out, 1, 1)
    code, _, err = _validate(capsys, d, "--mapping", _mapping(tmp_path, "columns: {accounts: {out_prncp: balance, bal: balance}}\n"))
    assert code == 2 and "columns.accounts: 'out_prncp' and 'bal' both map to 'balance'; map only one of them" in err


# ------------------------------------------------------------------------ files and settings


def test_two_files_for_one_table_are_refused(tmp_path, capsys):
    d = _write(tmp_path / "d", "accounts.csv", ACC_HEAD + GOOD)
    pd.read_csv(d / "accounts.csv").to_parquet(d / "accounts.parquet")
    code, _, err = _validate(capsys, d)
    assert code == 2 and "two files for table 'accounts': accounts.parquet, accounts.csv" in err


def test_excel_formulas_without_a_cached_value_are_flagged(tmp_path, capsys):
    import openpyxl

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "accounts"
    ws.append(["account_id", "balance", "overdue_amount", "dpd", "product"])
    ws.append(["A1", 100, 10, 5, "card"])
    ws.append(["A2", "=B2*2", 10, 5, "card"])
    book.save(tmp_path / "book.xlsx")
    code, out, _ = _validate(capsys, tmp_path / "book.xlsx")
    assert code == 2
    assert ("book.xlsx[accounts]: row 3: column balance: Excel formula without a cached value; open and save the "
            "workbook in a spreadsheet application, or export values (value: =B2*2)") in out
    _reconciles(out, 2, 1)


def test_an_unknown_mapping_time_zone_or_encoding_is_refused(tmp_path, capsys):
    d = _write(tmp_path / "d", "accounts.csv", ACC_HEAD + GOOD)
    code, _, err = _validate(capsys, d, "--mapping", _mapping(tmp_path, "timezone: Mars/Olympus\n"))
    assert code == 2 and "field timezone: unknown time zone 'Mars/Olympus'; use an IANA name" in err
    code, _, err = _validate(capsys, d, "--mapping", _mapping(tmp_path, "encoding: klingon\n"))
    assert code == 2 and "field encoding: unknown encoding 'klingon'" in err


# ------------------------------------------------------------------------ empty tables


def test_an_empty_accounts_table_is_said_once(tmp_path, capsys):
    d = _write(tmp_path / "d", "accounts.csv", ACC_HEAD)
    _write(d, "interactions.csv", IT_HEAD + "".join(f"A{i},2026-11-01 10:00:00,call,outbound,debtor,no_answer\n"
                                                    for i in range(500)))
    code, out, err = _validate(capsys, d)
    assert code == 2 and err.count("accounts has no rows") == 1 and "account_id not found" not in out + err


# ------------------------------------------------------------------------ exports


def test_exports_neutralise_formula_cells(tmp_path):
    d = _write(tmp_path / "d", "accounts.csv", "account_id,balance,overdue_amount,dpd,product,name\n"
                                               "A1,1,1,5,card,=HYPERLINK(\"http://x\")\nA2,1,1,5,@SUM(A1),+cmd\n")
    pf = load_portfolio(d)
    write_portfolio(pf, tmp_path / "csv", fmt="csv")
    raw = pd.read_csv(tmp_path / "csv" / "accounts.csv", dtype=str)
    assert raw["name"].tolist() == ["'=HYPERLINK(\"http://x\")", "'+cmd"] and raw["product"].iloc[1] == "'@SUM(A1)"
    assert raw["balance"].iloc[0] == "1.0"
    write_portfolio(pf, tmp_path / "x", fmt="xlsx")
    assert pd.read_excel(tmp_path / "x" / "accounts.xlsx")["name"].iloc[1] == "'+cmd"


# ------------------------------------------------------------------------ nothing lost: a corrupted real-shaped tape


def test_a_corrupted_loan_tape_reports_every_problem_and_reconciles(tmp_path, capsys):
    src = Path(__file__).parent / "fixtures" / "lending_club"
    d = tmp_path / "lc"
    d.mkdir()
    lines = (src / "loans.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    lines[3] = lines[3].replace(",Current,", ",Abducted,")      # an unknown status, line 4
    lines[5] = lines[5].replace(" 36 months", " 84 months")     # an unmatched term, line 6
    lines[9] = lines[9].rsplit(",", 3)[0] + "\n"                # a short line, line 10
    (d / "loans.csv").write_text("".join(lines), encoding="utf-8")
    (d / "status_monthly.csv").write_text((src / "status_monthly.csv").read_text(encoding="utf-8"), encoding="utf-8")
    code, out, _ = _validate(capsys, d, "--mapping", Path(__file__).parents[1] / "data" / "mappings" / "lending_club.yaml")
    assert code == 2
    assert "loans.csv: row 4: column status: unknown account status" in out
    assert re.search(r"warning: fields\.accounts\.status: 1 codes matched no `values`/`ranges` entry and are kept as "
                     r"they are: 'Abducted' \(1\)", out)
    assert "warning: fields.accounts.product: 1 codes matched no `values`/`ranges` entry and are kept as they are: '84 months' (1)" in out
    assert "loans.csv: row 10: column last_pymnt_d: line has 24 fields, the header has 27: last_pymnt_d, last_pymnt_amnt, next_pymnt_d missing" in out
    m = re.search(r"rows read (\d+) = accepted (\d+) \+ rejected (\d+)", out)
    read, acc, rej = map(int, m.groups())
    assert read == acc + rej == 40 + 480
