"""The mapping YAML: declarative, expressive enough for real loan tapes, and clear when wrong."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from playbook.cli import main
from playbook.errors import SourceError
from playbook.loading import Mapping, load_portfolio, read_mapping

ROOT = Path(__file__).resolve().parents[1]
LC = ROOT / "tests" / "fixtures" / "lending_club"
LC_MAPPING = ROOT / "data" / "mappings" / "lending_club.yaml"


def _tape(tmp_path: Path, text: str, mapping: str) -> tuple[Path, Path]:
    d = tmp_path / "d"
    d.mkdir(exist_ok=True)
    (d / "accounts.csv").write_text(text, encoding="utf-8")
    m = tmp_path / "m.yaml"
    m.write_text(mapping, encoding="utf-8")
    return d, m


def test_the_lending_club_tape_loads_with_its_mapping_alone(capsys):
    assert main(["validate", str(LC), "--mapping", str(LC_MAPPING)]) == 0
    out = capsys.readouterr().out
    assert "rows read 520 = accepted 520 + rejected 0" in out
    pf = load_portfolio(LC, LC_MAPPING)
    a = pf.accounts.set_index("account_id")
    raw = pd.read_csv(LC / "loans.csv", dtype=str).set_index("id")
    assert set(a["product"]) == {"term_36", "term_60"}                                   # " 36 months" trimmed
    assert a.loc[raw.index[raw.loan_status == "Fully Paid"], "status"].eq("paid_off").all()
    assert a.loc[raw.index[raw.loan_status == "Charged Off"], "status"].eq("charged_off").all()
    assert a.loc[raw.index[raw.loan_status == "Late (31-120 days)"], "dpd"].eq(31).all()  # one source, two targets
    off = raw.index[raw.loan_status == "Charged Off"]                                      # the conditional balance
    expected = raw.loc[off, "funded_amnt"].astype(float) - raw.loc[off, "total_rec_prncp"].astype(float)
    assert (a.loc[off, "balance"] - expected).abs().max() < 1e-9 and (a.loc[off, "balance"] > 0).all()
    cur = raw.index[raw.loan_status == "Current"]
    assert (a.loc[cur, "balance"] == raw.loc[cur, "out_prncp"].astype(float)).all()
    assert (a.loc[cur, "overdue_amount"] == 0).all()
    assert (a["monthly_income"] * 12 - raw.loc[a.index, "annual_inc"].astype(float)).abs().max() < 1e-6
    h = pf.history
    assert h["month"].min() == pd.Timestamp("2019-01-01") and h["month"].max() == pd.Timestamp("2019-12-01")
    assert set(h["bucket"]) == {"current", "M1", "M2", "M3+"}
    assert len(pf.interactions) == 0 and pf.timezone == "America/Los_Angeles"


def test_numeric_codes_ranges_other_default_constant_and_percent(tmp_path):
    d, m = _tape(tmp_path, "id,bal,st,rate,kind\n1,100,0, 5%,x\n2,100,3,12.5%,\n3,100,7,1%,y\n4,100,C,2%,z\n", """
fields:
  accounts:
    account_id: {from: id}
    balance: {from: bal}
    overdue_amount: {value: 0}
    dpd:
      from: st
      values: {C: 0}
      ranges: [{max: 0, value: 15}, {min: 1, max: 5, value: 90}]
      other: 999
    product: {from: kind, values: {x: card, y: loan}, default: card}
    external_debts: {from: rate, format: percent}
    status: {value: open}
""")
    pf = load_portfolio(d, m)
    a = pf.accounts
    assert a["dpd"].tolist() == [15, 90, 999, 0]
    assert a["product"].tolist() == ["card", "card", "loan", "z"]
    assert a["external_debts"].tolist() == pytest.approx([0.05, 0.125, 0.01, 0.02])
    assert (a["overdue_amount"] == 0).all() and (a["status"] == "open").all()
    notes = "\n".join(pf.report.notes)
    assert "fields.accounts.dpd: 1 values matched no `values`/`ranges` entry and became `other` 999: '7' (1)" in notes
    assert "fields.accounts.product: 1 missing values set to the default 'card'" in notes
    assert "warning: fields.accounts.product: 1 codes matched no `values`/`ranges` entry and are kept as they are: 'z' (1)" in notes


def test_numeric_value_keys_need_no_quotes_and_match_typed_columns(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    pd.DataFrame({"account_id": ["A1", "A2"], "balance": [1.0, 2.0], "overdue_amount": [0.0, 0.0], "dpd": [0, 0],
                  "product": [1, 2]}).to_parquet(d / "accounts.parquet")
    m = tmp_path / "m.yaml"
    m.write_text("values: {accounts: {product: {1: card, 2.0: loan}}}\n", encoding="utf-8")
    assert load_portfolio(d, m).accounts["product"].tolist() == ["card", "loan"]


def test_one_source_column_renamed_onto_several_targets(tmp_path):
    d, m = _tape(tmp_path, "id,bal,dpd,product\nA1,100,3,card\n",
                 "columns: {accounts: {id: [account_id, customer_id], bal: [balance, overdue_amount]}}\n")
    a = load_portfolio(d, m).accounts
    assert a[["account_id", "customer_id"]].iloc[0].tolist() == ["A1", "A1"]
    assert a[["balance", "overdue_amount"]].iloc[0].tolist() == [100.0, 100.0]


def test_month_offsets_and_date_formats(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "accounts.csv").write_text("account_id,balance,overdue_amount,dpd,product\nA1,1,0,0,card\n", encoding="utf-8")
    (d / "history.csv").write_text("ID,MONTHS_BALANCE,STATUS,bal\nA1,0,C,1\nA1,-1,0,1\nA1,-13,X,0\nA1,-1.5,C,1\n",
                                   encoding="utf-8")
    m = tmp_path / "m.yaml"
    m.write_text("""
fields:
  history:
    account_id: {from: ID}
    month: {from: MONTHS_BALANCE, offset_from: 2019-03}
    balance: {from: bal}
    bucket: {from: STATUS, values: {C: current, X: current, 0: M1}}
""", encoding="utf-8")
    pf = load_portfolio(d, m, on_error="keep_valid")
    assert pf.history["month"].tolist() == [pd.Timestamp("2019-03-01"), pd.Timestamp("2019-02-01"), pd.Timestamp("2018-02-01")]
    err = pf.report.errors
    assert err.iloc[0][["row", "column", "reason"]].tolist() == [5, "month", "not a whole number of months (offset_from 2019-03)"]


def test_expressions_read_source_numbers_and_report_bad_inputs(tmp_path, capsys):
    d, m = _tape(tmp_path, "id,bal,inc,product\nA1,100,36000,card\nA2,100,lots,card\n", """
columns: {accounts: {id: account_id, bal: balance}}
fields:
  accounts:
    overdue_amount: {expr: "balance / 2"}
    dpd: {value: 0}
    monthly_income: {expr: "inc / 12"}
""")
    code = main(["validate", str(d), "--mapping", str(m)])
    out = capsys.readouterr().out
    assert code == 2
    assert "accounts.csv: row 3: column inc: not a number (read by fields.accounts.monthly_income.expr) (value: lots)" in out
    assert "rows read 2 = accepted 1 + rejected 1" in out
    pf = load_portfolio(d, m, on_error="keep_valid")
    assert pf.accounts[["overdue_amount", "monthly_income"]].iloc[0].tolist() == [50.0, 3000.0]


@pytest.mark.parametrize("text, message", [
    ("fields: {accounts: {balanse: {from: x}}}", "fields.accounts.balanse: 'balanse' is not a column of accounts; known: account_id"),
    ("fields: {accounts: {balance: {from: x, expr: 'y'}}}", "give one of from, expr, value (got from and expr)"),
    ("fields: {accounts: {balance: {expr: '__import__(1)'}}}", "field fields.accounts.balance.expr: unsupported syntax: function '__import__' is not allowed"),
    ("fields: {accounts: {balance: {form: x}}}", "field fields.accounts.balance.form: unknown key 'form'; allowed: from, expr, value"),
    ("fields: {accounts: {balance: {format: '%Y'}}}", "fields.accounts.balance.format: balance is a number; the only number format is 'percent'"),
    ("fields: {history: {month: {format: 'month'}}}", "write a strftime pattern such as '%b-%Y'"),
    ("values: {accounts: {status: {yes: open}}}", "the code True is a YAML boolean (yes/no/true/false/on/off); quote it"),
    ("colums: {}", "field colums: unknown key 'colums'; allowed: files, encoding, timezone"),
    ("files: {acounts: a.csv}", "field files.acounts: 'acounts' is not a table; tables: accounts"),
    ("fields: {accounts: {balance: {ranges: [{min: 5, max: 1, value: 0}]}}}", "min 5 is above max 1; swap them"),
    ("fields: {history: {month: {offset_from: soon}}}", "'soon' is not a month; write it as 2019-03"),
    ("- a list", "the file must hold keys such as files, columns, values, fields"),
])
def test_mapping_errors_name_the_field_and_say_how_to_fix_it(tmp_path, text, message):
    p = tmp_path / "m.yaml"
    p.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(SourceError) as ei:
        read_mapping(p)
    assert message in str(ei.value) and str(p) in str(ei.value)


def test_a_missing_from_column_and_an_unknown_expression_name_reject_the_table(tmp_path, capsys):
    d, m = _tape(tmp_path, "id,bal,dpd,product\nA1,100,3,card\n",
                 "fields: {accounts: {account_id: {from: ID}, balance: {from: bal}, overdue_amount: {expr: 'bal * rate'}}}\n")
    code = main(["validate", str(d), "--mapping", str(m)])
    out = capsys.readouterr().out
    assert code == 2
    assert "column account_id: fields.accounts.account_id.from names 'ID', which is not a column of this file (columns: id, bal, dpd, product)" in out
    m.write_text("fields: {accounts: {account_id: {from: id}, balance: {from: bal}, overdue_amount: {expr: 'bal * rate'}}}\n",
                 encoding="utf-8")
    code = main(["validate", str(d), "--mapping", str(m)])
    out = capsys.readouterr().out
    assert code == 2 and "column overdue_amount: fields.accounts.overdue_amount.expr: unknown name 'rate'" in out
    assert "rows read 1 = accepted 0 + rejected 1" in out


def test_the_shipped_mappings_are_valid():
    for p in (ROOT / "data" / "mappings").glob("*.yaml"):
        assert isinstance(read_mapping(p), Mapping)


def test_the_mapping_names_the_currency_of_the_export(tmp_path):
    from playbook.errors import SourceError
    from playbook.loading import load_portfolio

    root = Path(__file__).parents[1]
    pf = load_portfolio(root / "tests" / "fixtures" / "lending_club", root / "data" / "mappings" / "lending_club.yaml",
                        on_error="keep_valid")
    assert pf.currency == "USD"
    import playbook
    from playbook.loading import write_portfolio

    write_portfolio(playbook.demo_portfolio(50, 1, "2026-11-29"), tmp_path / "demo")
    assert load_portfolio(tmp_path / "demo").currency is None  # no mapping: the playbook's (costs.yaml) is used
    bad = tmp_path / "m.yaml"
    bad.write_text("currency: dollars\n", encoding="utf-8")
    with pytest.raises(SourceError, match="currency"):
        load_portfolio(root / "tests" / "fixtures" / "lending_club", bad)


def test_a_currency_without_a_rate_is_named_by_the_commands(tmp_path, capsys):
    """A book in a currency settings.yaml lists no rate for: segment says once that the amount
    thresholds are n/a (in the chosen language); a listed one gets no such note."""
    import playbook
    from playbook.cli import main
    from playbook.loading import write_portfolio

    write_portfolio(playbook.demo_portfolio(50, 1, "2026-11-29"), tmp_path / "demo")
    for code, noted in (("XAF", True), ("USD", False)):
        m = tmp_path / f"{code}.yaml"
        m.write_text(f"currency: {code}\n", encoding="utf-8")
        for lang in ("en", "zh"):
            assert main(["segment", str(tmp_path / "demo"), "--mapping", str(m), "--as-of", "2026-11-29",
                         "--out", str(tmp_path / "s.parquet"), "--lang", lang]) == 0
            err = capsys.readouterr().err
            assert (f"{code}" in err and ("rates" in err)) == noted, err
