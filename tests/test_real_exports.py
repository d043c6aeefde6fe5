"""A real-shaped loan tape, from a mapping YAML alone: every command runs, closed loans are never worked."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from playbook.cli import main

from .conftest import ROOT

TAPE = ROOT / "tests" / "fixtures" / "lending_club"
MAPPING = ROOT / "data" / "mappings" / "lending_club.yaml"
AS_OF = "2019-12-31"


@pytest.fixture()
def tape(tmp_path: Path) -> Path:
    d = tmp_path / "tape"
    shutil.copytree(TAPE, d)
    return d


def _run(args: list[str]) -> int:
    return main([*args, "--mapping", str(MAPPING)])


def test_a_loan_tape_without_a_contact_log_runs_every_command(tape, tmp_path, capsys):
    loans = pd.read_csv(tape / "loans.csv")
    assert _run(["validate", str(tape)]) == 0
    out = capsys.readouterr().out
    assert "rejected 0" in out

    assert _run(["segment", str(tape), "--as-of", AS_OF, "--out", str(tmp_path / "seg.csv")]) == 0
    seg = pd.read_csv(tmp_path / "seg.csv", dtype={"account_id": str})
    assert len(seg) == len(loans)
    status = dict(zip(loans["id"].astype(str), loans["loan_status"].str.strip()))
    for row in seg.itertuples():
        if status[row.account_id] in ("Fully Paid", "Does not meet the credit policy. Status:Fully Paid"):
            assert row.status == "paid_off" and not row.worked  # paid-off loans are never worked
        if status[row.account_id] == "Charged Off":
            assert row.status == "charged_off" and row.worked and row.team == "late_legal"
    assert set(seg["behaviour_type"]) == {"unclassified"}  # no contact log: no type is guessed
    err = capsys.readouterr().err
    assert "note: no interactions:" in err and "note: no payments:" in err

    assert _run(["kpis", str(tape), "--as-of", AS_OF, "--json"]) == 0
    row = json.loads(capsys.readouterr().out)["kpis"][0]
    assert row["accounts"] == len(loans) and row["attempts"] is None and row["collected"] is None

    assert _run(["compliance", str(tape)]) == 0
    assert "no interactions to check" in capsys.readouterr().out

    assert _run(["whatif", str(tape), "--as-of", AS_OF, "--draws", "100"]) == 0
    out, err = capsys.readouterr()
    assert f"from {AS_OF}, horizon" in out  # the day simulated from is said
    assert "rule pack cn is written for the jurisdiction of Asia/Shanghai" in err  # a US tape under the cn pack

    out_dir = tmp_path / "reports"
    assert _run(["briefings", str(tape), "--as-of", AS_OF, "--teams", "early,late_legal", "--out", str(out_dir),
                 "--jobs", "1", "--lang", "en"]) == 0
    manifest = json.loads((out_dir / AS_OF / "manifest.json").read_text(encoding="utf-8"))
    assert [t["status"] for t in manifest["teams"]] == ["ok", "ok"]
    page = (out_dir / AS_OF / "early.html").read_text(encoding="utf-8")
    assert "no compliance verdict was made" in page and "No violations" not in page
    assert all(t["alerts"] is None for t in manifest["teams"])  # nothing checked: no count, not 0
    for aid in seg.loc[~seg["worked"], "account_id"]:
        assert f">{aid}<" not in page  # paid-off and up-to-date loans are not on the worklist


def test_an_as_of_long_after_the_data_is_warned_about(tape, tmp_path, capsys):
    """The tape ends in December 2019: figures for 2026 would be the 2019 book, not aged. Say so."""
    assert _run(["segment", str(tape), "--as-of", "2026-11-29", "--out", str(tmp_path / "a.csv")]) == 0
    assert "latest record is on 2019-12-31, 2525 days before --as-of 2026-11-29" in capsys.readouterr().err
    assert _run(["segment", str(tape), "--as-of", AS_OF, "--out", str(tmp_path / "b.csv")]) == 0
    assert "latest record" not in capsys.readouterr().err
    logged: list[str] = []
    from playbook.runner import run_briefings

    run_briefings(tape, "2026-11-29", teams="early", out=tmp_path / "r", jobs=1, lang="en", mapping=MAPPING,
                  log=logged.append)
    assert any(m.startswith("warning: the data's latest record is on 2019-12-31") for m in logged)


def test_an_as_of_long_before_the_data_is_warned_about(tape, tmp_path, capsys):
    """Events after an early --as-of are left out, but days past due and balances are still the
    export's (December 2019): a 2018 as-of mixes two dates. Say so; a few days early is normal."""
    assert _run(["segment", str(tape), "--as-of", "2018-06-30", "--out", str(tmp_path / "a.csv")]) == 0
    err = capsys.readouterr().err
    assert "records up to 2019-12-31, 549 days after --as-of 2018-06-30" in err and "days past due" in err
    assert _run(["segment", str(tape), "--as-of", "2019-12-20", "--out", str(tmp_path / "b.csv")]) == 0
    assert "records up to" not in capsys.readouterr().err
