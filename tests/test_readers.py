"""The reader registry: one registration per input format, clear errors for unknown ones."""

from __future__ import annotations

import ast
import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import playbook
from playbook import readers
from playbook.cli import main
from playbook.errors import ArgumentError, SourceError, UnknownKeyError
from playbook.loading import load_portfolio, load_table, write_portfolio
from playbook.readers import FileReader, Reader, ReadRequest, get_reader, read_source, register_reader, unregister_reader

PKG = Path(playbook.__file__).resolve().parent


# ------------------------------------------------------------------------ a format from outside the package


def _read_jsonl(path: Path, request: ReadRequest) -> pd.DataFrame:
    """A toy JSON-lines reader: one object per line, values as JSON holds them."""
    with path.open(encoding=request.encoding or "utf-8") as fh:
        return pd.DataFrame([json.loads(line) for line in fh if line.strip()])


def _write_jsonl(frame: pd.DataFrame, path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for rec in frame.to_dict(orient="records"):
            clean = {}
            for k, v in rec.items():
                if isinstance(v, pd.Timestamp):
                    v = v.isoformat()
                elif v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
                    v = None
                clean[k] = v
            fh.write(json.dumps(clean, ensure_ascii=False) + "\n")


@pytest.fixture()
def jsonl_reader():
    """Register a .jsonl reader for one test only, so no test depends on the order they run in."""
    reader = FileReader(_read_jsonl, first_row=1, description="JSON lines")
    assert register_reader(".jsonl", reader) is None
    try:
        yield reader
    finally:
        unregister_reader(".jsonl")


@pytest.fixture(scope="module")
def small(demo):
    ids = demo.accounts["account_id"].head(40)
    tables = {t: f[f["account_id"].isin(ids)].reset_index(drop=True) for t, f in demo.tables().items()}
    return playbook.Portfolio(**tables)


def _assert_same(a: playbook.Portfolio, b: playbook.Portfolio) -> None:
    for t in ("accounts", "interactions", "payments", "history"):
        pd.testing.assert_frame_equal(a.tables()[t], b.tables()[t], obj=t)


def test_a_new_format_is_one_registration_folder_and_single_file(small, tmp_path, jsonl_reader):
    write_portfolio(small, tmp_path / "pq")
    expected = load_portfolio(tmp_path / "pq")
    folder = tmp_path / "jsonl"
    folder.mkdir()
    for t, f in small.tables().items():
        _write_jsonl(f, folder / f"{t}.jsonl")
    got = load_portfolio(folder)
    _assert_same(got, expected)
    assert got.report.ok and set(got.report.counts["file"]) == {f"{t}.jsonl" for t in small.tables()}
    assert set(got.sources) == {f"{t}.jsonl" for t in small.tables()}
    # the first data row of a JSON-lines file is line 1: problems say so
    lines = (folder / "payments.jsonl").read_text(encoding="utf-8").splitlines()
    bad = json.loads(lines[0])
    bad["amount"] = "lots"
    (folder / "payments.jsonl").write_text("\n".join([json.dumps(bad)] + lines[1:]) + "\n", encoding="utf-8")
    report = load_portfolio(folder, on_error="keep_valid").report
    assert "payments.jsonl: row 1: column amount: not a number (value: lots)" in report.to_text()
    assert report.rows_read == report.rows_accepted + report.rows_rejected
    # one file is the accounts table; load_table reads any registered table file
    single = load_portfolio(folder / "accounts.jsonl")
    pd.testing.assert_frame_equal(single.accounts, expected.accounts)
    pd.testing.assert_frame_equal(load_table(folder / "accounts.jsonl", "accounts"), expected.accounts)


def test_the_toy_reader_is_gone_after_the_test(tmp_path, capsys):
    assert ".jsonl" not in readers.known_readers()
    f = tmp_path / "accounts.jsonl"
    f.write_text('{"account_id": "A1"}\n', encoding="utf-8")
    assert main(["validate", str(f)]) == 2
    err = capsys.readouterr().err
    assert "accounts.jsonl: cannot read file type '.jsonl'" in err
    assert ".csv" in err and ".parquet" in err and ".xlsx" in err and ".duckdb" in err and "sqlite://" in err
    assert "Traceback" not in err


def test_reader_failures_become_source_errors(tmp_path):
    def broken(path: Path, request: ReadRequest) -> pd.DataFrame:
        raise ValueError("line 3 is not JSON")

    f = tmp_path / "accounts.jsonl"
    f.write_text("{}\n", encoding="utf-8")
    with readers.registered(".jsonl", FileReader(broken, description="JSON lines")):
        with pytest.raises(SourceError, match=r"accounts\.jsonl: cannot read JSON lines file: line 3 is not JSON"):
            load_portfolio(f)
    with readers.registered(".jsonl", FileReader(lambda path, request: [1, 2], description="JSON lines")):
        with pytest.raises(SourceError, match="returned list, not a DataFrame"):
            load_portfolio(f)
    assert ".jsonl" not in readers.known_readers()


def test_registered_restores_a_replaced_builtin(tmp_path):
    before = get_reader("x.csv")
    seen = []

    def spy(path: Path, request: ReadRequest) -> pd.DataFrame:
        seen.append(path.name)
        return before.read_frame(path, request)

    pd.DataFrame({"account_id": ["A1"], "balance": [1.0], "overdue_amount": [0.0], "dpd": [0], "product": ["x"]}
                 ).to_csv(tmp_path / "accounts.csv", index=False)
    with readers.registered(".csv", FileReader(spy, first_row=2, description=".csv")):
        assert len(load_portfolio(tmp_path).accounts) == 1
    assert seen == ["accounts.csv"]
    assert get_reader("x.csv") is before
    assert readers.table_suffixes()[:2] == [".parquet", ".csv"]  # lookup order kept


# ------------------------------------------------------------------------ keys and misses


@pytest.mark.parametrize("source, kind", [
    ("exports/Accounts.CSV", FileReader), ("a.parquet", FileReader), ("book.xlsx", readers.ExcelReader),
    ("book.xlsm", readers.ExcelReader), ("p.duckdb", readers.DuckDBReader), ("p.db", readers.DuckDBReader),
    ("p.ddb", readers.DuckDBReader), ("sqlite:///p.sqlite", readers.SQLReader),
    ("postgresql+psycopg2://u@h/db", readers.SQLReader), ("mysql+pymysql://u@h/db", readers.SQLReader),
    ("mssql+pyodbc://u@h/db", readers.SQLReader), ("oracle://u@h/db", readers.SQLReader),
])
def test_readers_are_found_by_suffix_or_url_scheme(source, kind):
    assert isinstance(get_reader(source), kind)


def test_keys_and_folder():
    assert readers.reader_key("postgresql+psycopg2://u@h/db") == "postgresql"
    assert readers.reader_key(Path("x/Y.XLSX")) == ".xlsx"
    assert readers.reader_key("noext") == ""
    assert isinstance(get_reader(PKG), readers.FolderReader)


@pytest.mark.parametrize("source, what", [("notes.txt", "file type '.txt'"), ("ftp://host/x", "URL scheme 'ftp'"),
                                          ("README", "a file without a suffix")])
def test_unknown_formats_name_the_source_and_the_known_ones(source, what):
    with pytest.raises(SourceError) as ei:
        get_reader(source)
    msg = str(ei.value)
    assert msg.startswith(f"{source}: cannot read {what}")
    assert "known file types: .csv, " in msg and "postgresql://" in msg
    assert ei.value.exit_code == 2


def test_registry_misuse_is_reported():
    with pytest.raises(UnknownKeyError, match=r"unknown reader '\.nope'; known: .*\.csv"):
        unregister_reader(".nope")
    with pytest.raises(ArgumentError):
        register_reader(".jsonl", lambda path, request: pd.DataFrame())  # a function is not a Reader
    with pytest.raises(ArgumentError):
        register_reader("", FileReader(_read_jsonl))
    with pytest.raises(ArgumentError):
        FileReader("not callable")  # type: ignore[arg-type]


def test_read_source_reports_missing_sources(tmp_path):
    with pytest.raises(SourceError, match="no such file or folder"):
        read_source(tmp_path / "nowhere")
    with pytest.raises(SourceError, match="no such file"):
        load_table(tmp_path / "plan.csv", "interactions")


def test_a_whole_source_reader_from_outside(tmp_path, small):
    """A reader for a whole source (not a table file) is also one registration."""

    class Pickles(Reader):
        description = "pickled portfolio"

        def read(self, source: str, request: ReadRequest) -> readers.ReadResult:
            tables = pd.read_pickle(source)
            return readers.ReadResult({t: readers.RawTable(f, f"{Path(source).name}:{t}", 1) for t, f in tables.items()},
                                      {Path(source).name: readers.sha256_file(Path(source))}, ["read from a pickle"])

    f = tmp_path / "p.pkl"
    pd.to_pickle(small.tables(), f)
    with readers.registered(".pkl", Pickles()):
        assert ".pkl" not in readers.table_suffixes()  # not a table-file format: folders do not look for it
        got = load_portfolio(f)
    assert "read from a pickle" in got.report.notes
    assert list(got.report.counts["file"]) == [f"p.pkl:{t}" for t in small.tables()]
    assert len(got.accounts) == len(small.accounts)


def test_a_corrupt_workbook_is_a_source_error(tmp_path, capsys):
    f = tmp_path / "book.xlsx"
    f.write_bytes(b"this is not a zip file")
    assert main(["validate", str(f)]) == 2
    err = capsys.readouterr().err
    assert "book.xlsx: cannot read .xlsx file" in err and "Traceback" not in err


def test_a_mapping_naming_an_unknown_file_type_is_a_source_error(tmp_path):
    (tmp_path / "acc.txt").write_text("account_id\nA1\n", encoding="utf-8")
    m = tmp_path / "m.yaml"
    m.write_text("files: {accounts: acc.txt}\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"acc\.txt: cannot read file type '\.txt'"):
        load_portfolio(tmp_path, m)


def test_a_database_file_is_not_a_table_file(tmp_path):
    import duckdb

    db = tmp_path / "accounts.duckdb"
    duckdb.connect(str(db)).close()
    with pytest.raises(SourceError, match="cannot hold a single table"):
        load_table(db, "accounts")


# ------------------------------------------------------------------------ layering


def _imports(path: Path) -> set[str]:
    """Every module imported anywhere in a file, functions included, as absolute names."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = ("playbook." if node.level else "") + (node.module or "")
            found.add(base.rstrip("."))
            if node.level and not node.module:
                found |= {f"playbook.{a.name}" for a in node.names}
    return found


@pytest.mark.parametrize("module, allowed", [
    ("readers", {"playbook.errors", "playbook.schema", "playbook.sql"}),
    ("coercion", {"playbook.arrays", "playbook.errors", "playbook.schema"}),
    ("loading", {"playbook.errors", "playbook.schema", "playbook.portfolio", "playbook.arrays", "playbook._checks",
                 "playbook.content", "playbook.readers", "playbook.coercion", "playbook.expressions",
                 "playbook.masking", "playbook.sql"}),
])
def test_no_upward_imports(module, allowed):
    ours = {m for m in _imports(PKG / f"{module}.py") if m == "playbook" or m.startswith("playbook.")}
    assert ours <= allowed, ours - allowed


def test_readers_and_coercion_import_alone():
    code = ("import sys, playbook.readers, playbook.coercion; "
            "print(sorted(m for m in sys.modules if m.startswith('playbook.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = set(eval_free_list(out))
    assert loaded <= {"playbook.readers", "playbook.coercion", "playbook.errors", "playbook.schema", "playbook.sql",
                      "playbook.arrays"}, loaded


def eval_free_list(text: str) -> list[str]:
    """Parse a printed list of strings without eval."""
    return list(ast.literal_eval(text.strip()))


@pytest.mark.parametrize("module", ["loading", "readers", "coercion"])
def test_no_hard_coded_business_time_zone(module):
    assert "Asia/Shanghai" not in (PKG / f"{module}.py").read_text(encoding="utf-8")
