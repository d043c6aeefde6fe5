"""The command line reads like a finished product (issue 15, item 1).

Each command's output on a small demo is compared with a committed snapshot under
``tests/snapshots/``. Regenerate them after an intended change with
``PLAYBOOK_UPDATE_SNAPSHOTS=1 pytest tests/test_cli.py`` and review the diff. Snapshots hold no paths, timestamps or timings.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from playbook.cli import LANG, _parser, main
from playbook.formatting import display_width, fmt_int, fmt_money, fmt_rate, render_table

SNAPSHOTS = Path(__file__).parent / "snapshots"
AS_OF = "2026-11-29"
SCI = re.compile(r"\d(\.\d+)?e[+-]?\d", re.IGNORECASE)


def _update(request) -> bool:  # noqa: ANN001
    return os.environ.get("PLAYBOOK_UPDATE_SNAPSHOTS", "") not in ("", "0")


@pytest.fixture(scope="module")
def cli_demo(tmp_path_factory):  # noqa: ANN001, ANN201
    d = tmp_path_factory.mktemp("cli") / "demo"
    assert main(["demo-data", "--accounts", "300", "--seed", "5", "--as-of", AS_OF, "--out", str(d)]) == 0
    return d


def _run(capsys, argv: list[str], root: Path) -> tuple[int, str]:  # noqa: ANN001
    capsys.readouterr()
    code = main(argv)
    out = capsys.readouterr().out
    return code, out.replace(str(root), "<tmp>")  # no paths in a snapshot


def _commands(d: Path, tmp: Path) -> dict[str, list[str]]:
    return {
        "demo-data": ["demo-data", "--accounts", "60", "--seed", "3", "--as-of", AS_OF, "--out", str(tmp / "small")],
        "validate": ["validate", str(d)],
        "segment": ["segment", str(d), "--as-of", AS_OF, "--out", str(tmp / "seg.parquet")],
        "segment_zh": ["segment", str(d), "--as-of", AS_OF, "--out", str(tmp / "seg.csv"), "--lang", "zh"],
        "kpis": ["kpis", str(d), "--as-of", AS_OF],
        "kpis_by_team": ["kpis", str(d), "--as-of", AS_OF, "--by", "team"],
        "kpis_by_month_zh": ["kpis", str(d), "--as-of", AS_OF, "--by", "month", "--lang", "zh"],
        "compliance": ["compliance", str(d), "--pack", "cn"],
        "compliance_us": ["compliance", str(d), "--pack", "us"],
        "whatif": ["whatif", str(d), "--as-of", AS_OF, "--draws", "200"],
        "whatif_zh": ["whatif", str(d), "--as-of", AS_OF, "--draws", "200", "--pack", "uk", "--lang", "zh"],
    }


@pytest.mark.parametrize("name", list(_commands(Path("d"), Path("t"))))
def test_output_matches_snapshot(name, cli_demo, tmp_path, capsys, request):  # noqa: ANN001
    argv = _commands(cli_demo, tmp_path)[name]
    code, out = _run(capsys, argv, tmp_path)
    out = out.replace(str(cli_demo), "<demo>")
    assert code in (0, 1), out
    snap = SNAPSHOTS / f"{name}.txt"
    if _update(request) or not snap.exists():
        SNAPSHOTS.mkdir(exist_ok=True)
        snap.write_text(out, encoding="utf-8")
        if not _update(request):
            pytest.fail(f"wrote a new snapshot {snap.name}; check it and commit it")
    assert out == snap.read_text(encoding="utf-8"), (
        f"{name}: output differs from {snap}; if intended, rerun with PLAYBOOK_UPDATE_SNAPSHOTS=1 and review the diff")


@pytest.mark.parametrize("argv", [["kpis", "--as-of", AS_OF], ["kpis", "--as-of", AS_OF, "--by", "team"],
                                  ["kpis", "--as-of", AS_OF, "--by", "behaviour_type", "--lang", "zh"],
                                  ["kpis", "--as-of", AS_OF, "--by", "month"],
                                  ["whatif", "--as-of", AS_OF, "--draws", "100"],
                                  ["whatif", "--as-of", AS_OF, "--draws", "100", "--lang", "zh"],
                                  ["compliance", "--pack", "uk"], ["segment", "--as-of", AS_OF, "--out", "SEG"],
                                  ["validate"], ["explain", "--as-of", AS_OF, "--account", "A0000001", "A0000002"],
                                  ["explain", "--as-of", AS_OF, "--account", "A0000003", "--lang", "zh"]])
def test_no_scientific_notation_and_at_most_120_columns(argv, cli_demo, tmp_path, capsys):  # noqa: ANN001
    argv = [argv[0], str(cli_demo), *[str(tmp_path / "s.parquet") if x == "SEG" else x for x in argv[1:]]]
    code, out = _run(capsys, argv, tmp_path)
    assert code in (0, 1)
    for line in out.splitlines():
        assert not SCI.search(line), line
        assert display_width(line) <= 120, line
    assert "0.0000" not in out and "nan" not in out.lower().replace("n/a", "")


def test_kpis_by_team_prints_the_roll_matrix_per_team(cli_demo, tmp_path, capsys):  # noqa: ANN001
    _, out = _run(capsys, ["kpis", str(cli_demo), "--as-of", AS_OF, "--by", "team"], tmp_path)
    assert "Roll rates by Collection team" in out and "Roll rates (by count, over every" not in out
    roll = out.split("Roll rates by")[1].split("Transitions")[0]
    assert {"Early (M1)", "Mid (31-90 days)"} <= {line[:18].strip() for line in roll.splitlines()}
    # the KPI table has a column per team, money with the currency, rates as %
    assert "CNY" in out and re.search(r"\d+\.\d%", out)
    _, js = _run(capsys, ["kpis", str(cli_demo), "--as-of", AS_OF, "--by", "team", "--json"], tmp_path)
    body = json.loads(js)
    assert set(body["roll_rates_by"]) <= {"early", "mid", "late_legal", "skip_trace", "care"}
    assert all(isinstance(r["balance"], float) for r in body["kpis"])  # --json keeps full precision


def test_whatif_compares_every_admissible_strategy_with_the_champion(cli_demo, tmp_path, capsys):  # noqa: ANN001
    _, out = _run(capsys, ["whatif", str(cli_demo), "--as-of", AS_OF, "--draws", "100"], tmp_path)
    for sid in ("champion", "early_instalments", "legal_long_term", "payday_calling", "sms_first_low_risk"):
        assert sid in out
    assert "vs champion" in out and "baseline" in out
    assert "Collected by behavioural type" in out and "Collected by team" in out
    _, js = _run(capsys, ["whatif", str(cli_demo), "--as-of", AS_OF, "--draws", "100", "--json"], tmp_path)
    body = json.loads(js)
    assert body["baseline"] == "champion" and len(body["strategies"]) >= 4
    champ = body["strategies"][0]["difference_to_baseline"]["collected"]
    assert champ == {"mean": 0.0, "p05": 0.0, "p95": 0.0}
    other = body["strategies"][1]["difference_to_baseline"]["collected"]
    assert other["p05"] <= other["mean"] <= other["p95"]


def test_whatif_prints_an_inadmissible_strategys_violations_once(cli_demo, tmp_path, capsys):  # noqa: ANN001
    import yaml

    base = yaml.safe_load((Path(__file__).parents[1] / "playbook/content/strategies/champion.yaml").read_text("utf-8"))
    base["strategy"]["id"] = "late_calls"
    base["strategy"]["rules"] = [{"when": "True", "treatment": {"channels": ["call"], "attempts_per_week": 1,
                                                               "call_window": ["20:00", "23:00"]}}]
    f = tmp_path / "late_calls.yaml"
    f.write_text(yaml.safe_dump(base, allow_unicode=True), encoding="utf-8")
    code, out = _run(capsys, ["whatif", str(cli_demo), "--as-of", AS_OF, "--draws", "50", "--strategies", "champion", str(f)],
                     tmp_path)
    assert code == 0
    assert out.count("late_calls: INADMISSIBLE, not simulated") == 1
    assert out.count("cn_quiet_hours") == 1


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


@pytest.mark.parametrize("command", list(_options(_parser())))
def test_help_describes_every_option(command, capsys):  # noqa: ANN001
    sub = _options(_parser())[command]
    for action in sub._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"{command} {action.option_strings or action.dest}: no help text"
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for action in sub._actions:
        for opt in action.option_strings:
            assert opt in out
    if any(a.dest == "lang" for a in sub._actions):
        assert f"(default: {LANG})" in out


def test_one_default_language_across_commands():
    langs = {name: a.default for name, p in _options(_parser()).items() for a in p._actions if a.dest == "lang"}
    assert set(langs) >= {"segment", "kpis", "compliance", "whatif", "briefings"}
    assert set(langs.values()) == {LANG}


@pytest.mark.skipif(shutil.which("sh") is None or shutil.which("head") is None, reason="needs sh and head")
def test_a_broken_pipe_exits_quietly(cli_demo):  # noqa: ANN001
    exe = Path(sys.executable).with_name("playbook")
    cmd = f"'{exe}' kpis '{cli_demo}' --as-of {AS_OF} --by team | head -1" if exe.exists() else (
        f"'{sys.executable}' -m playbook kpis '{cli_demo}' --as-of {AS_OF} --by team | head -1")
    r = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, timeout=300)
    assert r.returncode in (0, 141)
    assert "Traceback" not in r.stderr and "BrokenPipe" not in r.stderr, r.stderr
    assert r.stdout.startswith("KPIs as of")
    # the command's own exit status, with pipefail where the shell has it
    r = subprocess.run(["bash", "-c", "set -o pipefail; " + cmd], capture_output=True, text=True, timeout=300) \
        if shutil.which("bash") else r
    assert r.returncode in (0, 141) and "Traceback" not in r.stderr


def test_formatting_helpers():
    assert fmt_int(5000.0) == "5,000" and fmt_int(float("nan")) == "n/a"
    assert fmt_money(81198788.4, "CNY") == "81,198,788 CNY" and fmt_money(None, "CNY") == "n/a"
    assert fmt_rate(0.3413503) == "34.1%" and fmt_rate(float("nan")) == "n/a"
    wide = render_table(["key", *[f"column {i}" for i in range(30)]], [["row", *["1,234,567"] * 30]])
    assert all(display_width(line) <= 120 for line in wide.splitlines())
    assert wide.count("key") >= 3  # split into several tables, each repeating the key column
    wrapped = render_table(["rule", "source"], [["r", "word " * 80]], wrap_cols=[1], align="ll")
    assert all(display_width(line) <= 120 for line in wrapped.splitlines())
    assert display_width("中文ab") == 6


def test_long_cjk_cells_break_at_punctuation_not_inside_a_date():
    """A citation with no spaces wraps before its bracketed date or after a closing mark, so
    the date stays whole; a run with no such mark still fits the width."""
    from playbook.formatting import _wrap_cell, display_width

    cite = "中国银行业协会《金融机构个人消费类贷款催收工作指引（试行）》(2026-01-30); 商业银行信用卡业务监督管理办法 (2011) 第68条"
    lines = _wrap_cell(cite, 62)
    assert lines[0] == "中国银行业协会《金融机构个人消费类贷款催收工作指引（试行）》" and lines[1].startswith("(2026-01-30);")
    assert all(display_width(x) <= 62 for x in lines)
    plain = _wrap_cell("一" * 50, 20)
    assert [display_width(x) for x in plain] == [20] * 5



def test_an_amount_keeps_its_unit_when_cjk_text_wraps():
    """'834 元' is one amount: CJK text after a space fills the line instead of pushing the unit
    to the next one; no line starts or ends with a space; English still breaks between words."""
    from playbook.formatting import _wrap_cell, display_width

    lines = _wrap_cell("逾期71天、逾期金额834 元：超过30天或金额达10,000元（外币按折算）", 44)
    assert lines[0].startswith("逾期71天、逾期金额834 元") and all(display_width(x) <= 44 for x in lines)
    assert all(x == x.strip() for x in lines)
    assert _wrap_cell("the quick brown fox jumps over the lazy dog", 20) == ["the quick brown fox", "jumps over the lazy", "dog"]


def test_explain_shows_the_cues_behind_each_type_with_the_accounts_values(cli_demo, tmp_path, capsys):  # noqa: ANN001
    """``playbook explain``: the type segment assigned, its score the sum of the cues' contributions
    (weight x the account's evidence, counter-evidence included), each cue with its seed passage and
    the account's values, and every other dimension's reason; no personal data."""
    import pandas as pd

    import playbook

    pf = playbook.load_portfolio(cli_demo)
    seg = playbook.segment(pf, AS_OF).set_index("account_id")
    scored = seg.index[seg["type_cues"].astype(str).str.len().gt(0) & seg["type_score"].notna()]
    ids = [str(x) for x in scored[:3]]
    code, out = _run(capsys, ["explain", str(cli_demo), "--as-of", AS_OF, "--account", *ids, "--json"], tmp_path)
    assert code == 0
    got = json.loads(out)
    assert [g["account_id"] for g in got] == ids
    for g in got:
        bt = g["behaviour_type"]
        row = seg.loc[g["account_id"]]
        assert bt["type"] == row["behaviour_type"] and bt["runner_up"] == (None if pd.isna(row["runner_up"]) else row["runner_up"])
        assert [c["id"] for c in bt["cues"]] == sorted(str(row["type_cues"]).split(";"), key=[c["id"] for c in bt["cues"]].index)
        assert {c["id"] for c in bt["cues"]} == set(str(row["type_cues"]).split(";"))
        total = sum(c["contribution"] for c in bt["cues"]) + sum(c["contribution"] for c in bt["against"])
        assert total == pytest.approx(row["type_score"], abs=2e-3)
        for c in bt["cues"] + bt["against"]:
            assert 0 < c["evidence"] <= 1 and c["contribution"] == pytest.approx(c["weight"] * c["evidence"])
        assert all(c["seed"] and c["text"] for c in bt["cues"])
        assert bt["tie"] == (round(row["type_score"], 3) == round(row["runner_up_score"], 3))
        assert set(g["reasons"]) >= {"stage", "team", "contactability", "behaviour_type"}
    code, out = _run(capsys, ["explain", str(cli_demo), "--as-of", AS_OF, "--account", ids[0], "--lang", "zh"], tmp_path)
    assert code == 0 and "命中的线索" in out and "手册原文出处" in out and seg.loc[ids[0], "team"] in out
    names = pf.accounts.set_index("account_id").loc[ids[0], "name"]
    assert names not in out
    # too little evidence: the closest type and the minimum score it missed, never a "runner-up"
    low = seg.index[(seg["behaviour_type"] == "unclassified") & (seg["type_score"] > 0)][0]
    code, out = _run(capsys, ["explain", str(cli_demo), "--as-of", AS_OF, "--account", low], tmp_path)
    closest = playbook.load_playbook().label("behaviour_type", seg.loc[low, "runner_up"], "en")
    assert f"closest type: {closest}, score {seg.loc[low, 'type_score']:.2f}, below the minimum score of 1.00" in out
    assert "Runner-up" not in out.split("\n")[1]


def test_explain_an_unknown_account_exits_2_naming_it(cli_demo, capsys):  # noqa: ANN001
    capsys.readouterr()
    assert main(["explain", str(cli_demo), "--as-of", AS_OF, "--account", "A0000001", "NOPE-1"]) == 2
    captured = capsys.readouterr()
    assert "--account" in captured.err and "got 'NOPE-1'" in captured.err and "300 accounts" in captured.err
    assert "==" not in captured.out  # nothing explained before the check


def test_explain_without_a_contact_log_says_so_in_its_output(cli_demo, tmp_path, capsys):  # noqa: ANN001
    """Reasons such as "0 attempts" read as "never called" unless the output says the log is missing."""
    d = tmp_path / "no_log"
    d.mkdir()
    for t in ("accounts", "payments", "history"):
        shutil.copy(cli_demo / f"{t}.parquet", d / f"{t}.parquet")
    code, out = _run(capsys, ["explain", str(d), "--as-of", AS_OF, "--account", "A0000001", "--lang", "zh"], tmp_path)
    assert code == 0
    first = out.splitlines()[0]
    assert first.startswith("数据缺失：") and "联络记录" in first
