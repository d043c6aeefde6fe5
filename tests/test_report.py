"""The monthly analysis report: findings by rule, facts recomputed by hand, the page, the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import playbook
from playbook import report as R
from playbook.analysis import Analysis
from playbook.errors import ContentError

ROOT = Path(__file__).resolve().parents[1]
LC = ROOT / "tests" / "fixtures" / "lending_club"
LC_MAPPING = ROOT / "data" / "mappings" / "lending_club.yaml"


def test_shipped_findings_load_and_read_only_known_facts():
    rules = R.load_findings()
    assert len(rules) >= 8
    for rule in rules:
        assert rule.text("zh") and rule.text("en")


def test_a_finding_reading_an_unknown_fact_is_a_content_error(content_copy):
    p = content_copy / "analysis.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("promises_large_gap_pp >= 5", "promises_gap >= 5"),
                 encoding="utf-8")
    with pytest.raises(ContentError, match=r"analysis.yaml: entry findings\[0\] \(id: big_promises_less_reliable\): "
                                           r"field when: unknown fact 'promises_gap'"):
        R.load_findings(playbook.load_playbook(content_copy))


def test_a_finding_with_a_forbidden_expression_is_refused_not_run(content_copy):
    p = content_copy / "analysis.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace('"promises_large_gap_pp >= 5"', '"__import__(\'os\')"'),
                 encoding="utf-8")
    with pytest.raises(ContentError, match="field when"):
        R.load_findings(playbook.load_playbook(content_copy))


def _hand_report(kept_small=(60, 100), kept_large=(40, 100), first=(70, 100), after=(20, 50)) -> R.MonthlyReport:
    """A report whose promise tables are written by hand (nothing else available)."""
    band = pd.DataFrame({"amount_band": ["<= 500", "500-2,000", "> 2,000"],
                         "promises": [50, kept_small[1] - 50, kept_large[1]],
                         "kept": [30, kept_small[0] - 30, kept_large[0]]})
    band["broken"] = band["promises"] - band["kept"]
    band["kept_rate"] = band["kept"] / band["promises"]
    bb = pd.DataFrame({"broken_before_band": ["0", "1", "2", "3+"], "promises": [first[1], after[1], 0, 0],
                       "kept": [first[0], after[0], 0, 0]})
    bb["kept_rate"] = bb["kept"] / bb["promises"].where(bb["promises"] > 0)
    total = band[["promises", "kept"]].sum()
    overall = pd.DataFrame({"all": ["all"], "promises": [total["promises"]], "kept": [total["kept"]],
                            "kept_rate": [total["kept"] / total["promises"]]})
    promises = Analysis("promises", tables={"overall": overall, "by_amount": band, "by_broken_before": bb},
                        period={"start": "2026-09-01", "end": "2026-11-29", "amount_edges": [500.0, 2000.0]})
    missing = {n: Analysis(n, available=False, missing=[f"{n}: needs interactions"])
               for n in ("repayment", "delinquency", "value", "effectiveness")}
    return R.MonthlyReport(as_of=pd.Timestamp("2026-11-29"), provenance={"data": "<b>x</b>", "currency": "CNY"},
                           analyses={**missing, "promises": promises}, forecast=None, forecast_start=None,
                           backtest=None, vintages=None)


def test_promise_facts_recomputed_by_hand_and_quoted_in_the_finding():
    rep = _hand_report()
    f = rep.facts()
    assert f["promises_n"] == 200 and f["promises_kept_rate"] == pytest.approx(100 / 200)
    assert f["promises_large_edge"] == 2000
    assert f["promises_large_rate"] == pytest.approx(40 / 100)
    assert f["promises_small_rate"] == pytest.approx(60 / 100)
    assert f["promises_large_gap_pp"] == pytest.approx(20.0)
    assert f["promises_first_rate"] == pytest.approx(0.7) and f["promises_after_broken_rate"] == pytest.approx(0.4)
    assert f["promises_broken_gap_pp"] == pytest.approx(30.0)
    fired, untested = rep.findings("en")
    texts = dict((r.id, t) for r, t in fired)
    assert texts["big_promises_less_reliable"] == (
        "Promises over 2,000 CNY are kept 20.0 pp less often than the rest (40.0% vs 60.0%; the 200 promises "
        "made 2026-09-01~2026-11-29 that have fallen due).")
    assert "40.0%" in texts["broken_promises_predict"] and "50 promises" in texts["broken_promises_predict"]
    zh = dict((r.id, t) for r, t in rep.findings("zh")[0])
    assert "低20.0个百分点" in zh["big_promises_less_reliable"] and "元" in zh["big_promises_less_reliable"]
    # rules whose facts are n/a are listed as not tested, never as findings
    assert "extra_calls_stop_paying" in {r.id for r, _ in untested}


def test_a_rule_below_its_threshold_does_not_fire():
    rep = _hand_report(kept_small=(52, 100), kept_large=(50, 100), first=(50, 100), after=(45, 50))
    assert not any(r.id in ("big_promises_less_reliable", "broken_promises_predict") for r, _ in rep.findings("en")[0])


def test_page_fragments_escape_data_derived_text():
    rep = _hand_report()
    head = rep.header_html("en")
    assert "<b>x</b>" not in head and "&lt;b&gt;x&lt;/b&gt;" in head
    assert "n/a" in rep.section_html("repayment", "en")


def test_rules_not_tested_are_listed_by_name_and_zh_pages_say_na_in_chinese():
    import html

    rep = _hand_report()
    rules = {r.id: r for r in R.load_findings()}
    for lang in ("zh", "en"):
        page = rep.findings_html(lang)
        assert "extra_calls_stop_paying" not in page and "value_concentrated" not in page
        assert html.escape(rules["extra_calls_stop_paying"].name(lang)) in page
    zh = "".join(rep.section_html(n, "zh") for n in ("repayment", "value", "effectiveness", "forecast"))
    zh += rep.methods_html("zh") + rep.findings_html("zh")
    assert "n/a" not in zh and "无法计算" in zh
    # the methods speak plainly; file names and method names only in the small technical notes
    for para in re.findall(r"<p>(.*?)</p>", rep.methods_html("zh")):
        assert "costs.yaml" not in para and "Shapley" not in para and "马尔可夫" not in para


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    pf = playbook.demo_portfolio(600, 5, "2026-11-29")
    data = out / "demo"
    from playbook.loading import write_portfolio

    write_portfolio(pf, data, fmt="parquet")
    res = R.run_report(data, "2026-11-29", out=out / "reports", lang="zh", log=lambda m: None)
    return res, out


def _visible_text(page: str) -> str:
    page = re.sub(r"<style.*?</style>", " ", page, flags=re.S)
    page = re.sub(r"<script.*?</script>", " ", page, flags=re.S)
    page = re.sub(r"<img[^>]*>", " ", page)
    return re.sub(r"<[^>]+>", " ", page)


def test_demo_report_is_written_with_every_section_and_no_code_or_warnings(demo_run):
    res, out = demo_run
    assert res["status"] == "ok" and res["error"] is None, res
    assert res["warnings"] == []
    page = Path(res["html"]).read_text(encoding="utf-8")
    text = _visible_text(page)
    for key in ("source", "methods", "charts", "findings", "recommendations"):
        assert playbook.load_playbook().text(f"report.{key}", "zh") in text
    assert "import " not in text and "Traceback" not in text and "Warning" not in text
    assert page.count("data:image/png;base64") >= 6  # a chart per analysis and the forecast
    side = json.loads(Path(res["html"]).with_suffix(".json").read_text(encoding="utf-8"))
    assert side["findings"] == res["findings"] and side["data_sha256"]
    for f in res["findings"]:  # each finding quotes a number
        assert re.search(r"\d", f["text"])
    assert "n/a" not in text  # a zh page says 不适用 / 无法计算 with the reason


def test_report_without_interactions_or_history_says_na_with_the_reason(tmp_path):
    from playbook.loading import write_portfolio

    data = tmp_path / "bare"
    write_portfolio(playbook.demo_portfolio(300, 5, "2026-11-29"), data, fmt="parquet")
    for table in ("interactions", "history", "truth"):
        (data / f"{table}.parquet").unlink(missing_ok=True)
    pb = playbook.load_playbook()
    for lang in ("zh", "en"):
        res = R.run_report(data, "2026-11-29", out=tmp_path / "reports", lang=lang, log=lambda m: None)
        assert res["status"] == "ok" and res["warnings"] == [], res
        text = _visible_text(Path(res["html"]).read_text(encoding="utf-8"))
        assert "Traceback" not in text
        for table in ("interactions", "history"):
            assert pb.text(f"report.missing_{table}", lang) in text
        assert {r["id"] for r in res["not_tested"]} >= {"extra_calls_stop_paying", "repeat_delinquency"}
        assert all(r["name"] in text for r in res["not_tested"])
        if lang == "zh":
            assert "n/a" not in text


def test_demo_report_shows_no_personal_data(demo_run):
    res, out = demo_run
    text = _visible_text(Path(res["html"]).read_text(encoding="utf-8"))
    acc = playbook.load_portfolio(out / "demo").accounts
    for col in ("name", "phone", "id_number"):
        for value in acc[col].dropna().astype(str).head(200):
            assert value not in text


def test_report_on_an_export_with_no_contact_log_says_what_it_cannot_compute(tmp_path):
    res = R.run_report(LC, "2019-12-31", out=tmp_path, lang="en", mapping=LC_MAPPING, currency="USD",
                       log=lambda m: None)
    assert res["status"] == "ok" and res["warnings"] == []
    text = _visible_text(Path(res["html"]).read_text(encoding="utf-8"))
    assert "no interactions" in text and "n/a" in text
    assert "USD" in text
    assert {r["id"] for r in res["not_tested"]} >= {"big_promises_less_reliable", "extra_calls_stop_paying"}


def test_cli_report_bad_date_is_exit_2_and_writes_nothing(tmp_path, capsys):
    from playbook.cli import main

    assert main(["report", str(LC), "--mapping", str(LC_MAPPING), "--as-of", "someday", "--out", str(tmp_path / "r")]) == 2
    assert not (tmp_path / "r").exists()
    assert "as_of" in capsys.readouterr().err


def test_cli_analyse_json_on_the_lending_club_export(capsys):
    from playbook.cli import main

    assert main(["analyse", str(LC), "--mapping", str(LC_MAPPING), "--as-of", "2019-12-31", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["analyses"]["promises"]["available"] is False
    assert body["analyses"]["delinquency"]["available"] is True
    assert body["forecast"]["start_month"] == "2019-12"
    assert np.isclose(sum(r["accounts"] for r in body["forecast"]["projection"] if r["step"] == 1),
                      sum(r["accounts"] for r in body["analyses"]["delinquency"]["tables"]["by_month"][-1:]))


def test_monthly_notebook_is_committed_clean_and_matches_its_twin():
    import jupytext

    nb_path = ROOT / "notebooks" / "monthly_analysis.ipynb"
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    assert all(not c.get("outputs") for c in nb["cells"])
    assert any("parameters" in c.get("metadata", {}).get("tags", []) for c in nb["cells"])
    a, b = jupytext.read(nb_path), jupytext.read(nb_path.with_suffix(".py"))
    assert [(c.cell_type, c.source.strip()) for c in a.cells] == [(c.cell_type, c.source.strip()) for c in b.cells]


def test_value_section_numbers_recomputed_on_a_hand_made_portfolio():
    import html

    from tests.test_analysis import _value_portfolio

    res = _value_portfolio()  # a paid up during the period: M1 at the start, nothing overdue today
    rep = R.MonthlyReport(as_of=pd.Timestamp("2026-11-29"), provenance={"currency": "CNY"},
                          analyses={"value": res}, forecast=None, forecast_start=None, backtest=None, vintages=None)
    page = html.unescape(re.sub(r"<[^>]+>", "|", rep.table_html("value", "en")))
    # by hand, valued b, c, d, e, g: propensity 0.5, 1, 0, 0.5, 0 and balance 800, 3000, 5000, 2500, 1000
    p, b = [0.5, 1.0, 0.0, 0.5, 0.0], [800.0, 3000.0, 5000.0, 2500.0, 1000.0]
    pm, bm = sum(p) / 5, sum(b) / 5
    assert (f"average propensity {pm:.1%} x average balance {bm:,.0f} CNY = expected recovery {pm * bm:,.0f} CNY"
            in page)
    assert f"The average expected recovery of these accounts is {sum(x * y for x, y in zip(p, b)) / 5:,.0f} CNY" in page
    assert "ranked for the 5 accounts with something overdue today (5 of 7 accounts are overdue today)" in page
    assert "from the monthly history for 6 accounts, from today's days past due for 1 without that month" in page
    # stage at the start: accounts, payers, propensity (M1: a, b, c, e; a and e paid)
    assert "|M1||4||2||50.0%|" in page and "|Current||1||1||100.0%|" in page
    # stage today: M1 is b and e, gap to the reference = mean value - reference
    gap = (0.5 * 800 + 0.5 * 2500) / 2 - pm * bm
    assert f"|M1 (1-30 days)||2||50.0%||{gap:,.0f}|" in page


def test_effectiveness_section_names_the_debtors_hour_and_the_fallbacks():
    from tests.test_analysis import _hours_effectiveness

    rep = R.MonthlyReport(as_of=pd.Timestamp("2026-11-29"), provenance={"currency": "CNY"},
                          analyses={"effectiveness": _hours_effectiveness()}, forecast=None, forecast_start=None,
                          backtest=None, vintages=None)
    # by hand: c has no time zone (1 voice attempt); a, b have theirs; 4 voice attempts in all
    assert "1 voice attempts (1 accounts) without a valid time zone use the business zone Asia/Shanghai (of 4 voice " \
           "attempts)" in rep.section_html("effectiveness", "en")
    assert "1次语音外呼（1个账户）缺少有效时区，按业务时区Asia/Shanghai计（共4次语音外呼）" in rep.section_html("effectiveness", "zh")
    assert rep.t("hour", "zh") == "债务人本地时间（时）"
