"""The widget apps as plain Python: set a widget's value, check the output model changed."""

from __future__ import annotations

import re

import pandas as pd
import pytest

import playbook
from playbook.widgets import CaseTrainer, PortfolioExplorer, WhatIfApp
from playbook.widgets.trainer import SEED_TYPES

AS_OF = "2026-11-29"


@pytest.fixture(scope="module")
def data():
    pf = playbook.demo_portfolio(1500, 21, AS_OF)
    return pf, playbook.segment(pf, AS_OF)


def test_explorer_filters_update_count_table_and_chart(data):
    pf, seg = data
    app = PortfolioExplorer(pf, seg, lang="en")
    assert "1,500" in app.count.value
    table_before, chart_before = app.table.value, app.chart.value
    app.controls["stage"].value = ("M2",)
    n_m2 = int((seg["stage"].astype(str) == "M2").sum())
    assert f"{n_m2:,}" in app.count.value and app.table.value != table_before
    assert app.chart.value.startswith("<svg") and app.chart.value != chart_before
    app.controls["team"].value = ("mid",)
    expected = int(((seg["stage"].astype(str) == "M2") & (seg["team"].astype(str) == "mid")).sum())
    assert len(app.filtered()) == expected
    assert app.summary().iloc[:, 0].sum() == expected
    lo = 5000.0
    app.controls["balance"].value = (lo, app.controls["balance"].max)
    assert (app.filtered()["balance"] >= lo).all()
    # the drill-down list is the highest-priority accounts, highest first
    top = app.filtered().head(len(app.pick.options))
    assert [v for _, v in app.pick.options] == list(top["account_id"])
    # drill-down: the segments in words, not rule ids
    first = app.pick.options[0][1]
    app.pick.value = first
    assert "Reasons" in app.timeline.value and "Stage: " in app.timeline.value
    assert "stage=" not in app.timeline.value and "stage_m" not in app.timeline.value


def test_explorer_export_is_a_download_with_readable_masked_rows(data):
    import base64
    import io
    import re

    pf, seg = data
    for lang in ("zh", "en"):
        app = PortfolioExplorer(pf, seg, lang=lang)
        pb = app.pb
        app.controls["stage"].value = ("M1",)
        app.export_btn.click()
        link = app.download.value
        m = re.search(r"download='([^']+)' href='data:text/csv;base64,([^']+)'", link)
        assert m and m.group(1) == f"{pb.text('explorer.export_file', lang)}.csv"
        raw = base64.b64decode(m.group(2))
        assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel
        out = pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig")
        assert len(out) == len(app.filtered())
        for key in ("account", "name", "phone", "stage", "team", "behaviour_type", "product", "balance_with_unit"):
            assert pb.text(f"explorer.{key}", lang) in out.columns, key
        assert set(out[pb.text("explorer.stage", lang)]) == {pb.label("stage", "M1", lang)}
        assert not {"cash_loan", "credit_card", "consumer_loan"} & set(out[pb.text("explorer.product", lang)])
        assert not set(pf.accounts["phone"]) & set(out[pb.text("explorer.phone", lang)].astype(str))
        assert not set(pf.accounts["name"]) & set(out[pb.text("explorer.name", lang)].astype(str))
        app.controls["stage"].value = ("__all__",)
        assert app.download.value == ""  # a stale link never downloads another list
    xlsx_name, data_xlsx, mime = app.export_bytes("xlsx")
    assert xlsx_name.endswith(".xlsx") and mime.endswith("sheet")
    assert len(pd.read_excel(io.BytesIO(data_xlsx))) == len(seg)


def test_export_neutralises_formula_cells(data):
    import io

    pf, seg = data
    app = PortfolioExplorer(pf, seg, lang="en")
    app.labels["product"] = {k: "=cmd|' /C calc'!A0" for k in app.labels["product"]}  # e.g. a hostile product code
    out = pd.read_csv(io.BytesIO(app.export_bytes("csv")[1]), encoding="utf-8-sig")
    assert out[app.pb.text("explorer.product", "en")].str.startswith("'=").all()


def test_collector_assesses_style_and_b2b_type_in_the_explorer(data):
    pf, seg = data
    app = PortfolioExplorer(pf, seg, lang="en")
    acc = app.pick.options[0][1]
    app.pick.value = acc
    app.assess_controls["communication_style"].value = "suspicious"
    assert app.assessed[acc] == {"communication_style": "suspicious"}
    assert app.pb.label("communication_style", "suspicious", "en") in app.assess_hint.value
    with pytest.raises(Exception):
        app.assess(acc, "communication_style", "no_such_style")
    with pytest.raises(ValueError):
        app.assess(acc, "behaviour_type", "hostile")
    app.assess(acc, "b2b_type", "fickle")
    out = app.export_frame()
    col = [c for c in out.columns if c.startswith(app.pb.dimension("communication_style").name("en"))][0]
    assert out.loc[out[app.text("account")] == acc, col].iloc[0] == app.pb.label("communication_style", "suspicious", "en")
    other = app.pick.options[1][1]
    app.pick.value = other
    assert app.assess_controls["communication_style"].value == ""  # each account its own assessment


def test_trainer_gallery_quiz_and_both_languages(data):
    pf, seg = data
    prep = playbook.prepare(pf, AS_OF)
    pb = playbook.load_playbook()
    for lang in ("zh", "en"):
        app = CaseTrainer(pf, seg, lang=lang, seed=1, features=prep.features)
        names = [label for label, _ in app.gallery_pick.options]
        assert names == [pb.label("behaviour_type", t, lang) for t in SEED_TYPES]
        before = app.card_html.value
        app.gallery_pick.value = "serial_promiser"
        assert app.card_html.value != before and pb.label("behaviour_type", "serial_promiser", lang) in app.card_html.value
        assert "red" in app.card_html.value.lower() or "红线" in app.card_html.value
        assert app.choice.value is None  # no answer preselected
        case = app.current
        row = seg.loc[seg["account_id"] == case].iloc[0]
        truth = str(row["behaviour_type"])
        ok, text = app.answer(truth)
        assert ok
        # the feedback explains in words: the cues' texts and the observed facts, no ids or expressions
        cues = [c for c in str(row["type_cues"]).split(";") if c and c != "nan"]
        card = pb.scorecards["behaviour_type"]
        texts = {c.id: c.text(lang) for cs in card.types.values() for c in cs}
        for cid in cues:
            assert texts[cid] in app.feedback.value and cid not in app.feedback.value
        assert str(row["reason_behaviour_type"]) not in app.feedback.value
        assert ">=" not in app.feedback.value and "_share" not in app.feedback.value
        assert case not in app.case_html.value  # the quiz case is anonymised
        wrong = next(t for t in SEED_TYPES if t != truth)
        assert app.answer(wrong)[0] is False
        app.new_case()
        assert app.choice.value is None and app.feedback.value == ""
        assert app.answer(None)[0] is False and app.score[1] == 2  # nothing chosen: not counted
        for i, key in enumerate(CaseTrainer.TABS):
            assert app.widget.get_title(i) == pb.text(f"trainer.{key}", lang)
        app.topic_pick.value = "craft_measure"
        assert app.material.topics["craft_measure"].title(lang) in app.topic_html.value
        app.case_pick.value = "case_failure_merchant"
        assert pb.text("trainer.lesson", lang) in app.case_study_html.value
        assert pb.dimension("b2b_type").name(lang) in app.widget.children[4].value


def test_whatif_app_runs_and_sliders_change_the_result(data):
    from playbook.compliance import admissible_strategies
    from playbook.strategy import get_strategy

    pf, seg = data
    app = WhatIfApp(pf, seg, AS_OF, lang="en")
    assert list(app.controls["strategies"].value) == admissible_strategies("cn")  # compares them all by default
    assert [label for label, _ in app.controls["strategies"].options][0] == get_strategy("champion").name("en")
    app.controls["strategies"].value = ("champion", "early_instalments")
    app.controls["draws"].value = 200
    first = app.run()
    assert app.progress.value == app.progress.max
    assert "collected_mean" not in app.table.value and app.pb.text("whatif.col_collected", "en") in app.table.value
    assert get_strategy("champion").name("en") in app.table.value and "e+" not in app.table.value
    app.controls["intensity"].value = 2.0
    second = app.run()
    assert second["collected_mean"].iloc[0] > first["collected_mean"].iloc[0]
    assert app.chart.value[:4] == b"\x89PNG"

    # a book in New Taiwan dollars reads its amounts in TWD, converted costs included
    import dataclasses

    from playbook.widgets.whatif_app import static_view

    page, _ = static_view(dataclasses.replace(pf, currency="TWD"), seg, AS_OF, strategies=["champion"], draws=50,
                          lang="en")
    assert " TWD" in page and " CNY" not in page


@pytest.mark.filterwarnings("ignore:no CJK font")
def test_apps_take_their_labels_from_the_content_in_both_languages(data):
    pf, seg = data
    pb = playbook.load_playbook()
    seen = {}
    for lang in ("zh", "en"):
        ex = PortfolioExplorer(pf, seg, lang=lang)
        assert ex.controls["stage"].description == pb.text("explorer.stage", lang)
        assert ex.export_btn.description == pb.text("explorer.export", lang)
        assert pb.text("explorer.matching", lang) in ex.count.value
        assert pb.text("explorer.accounts", lang) in ex.table.value
        ex.pick.value = ex.pick.options[0][1]
        for key in ("reasons", "time", "event", "balance", "overdue", "dpd"):
            assert pb.text(f"explorer.{key}", lang) in ex.timeline.value, key
        other = "en" if lang == "zh" else "zh"
        for key in ("balance", "overdue", "dpd"):  # one language at a time
            if pb.text(f"explorer.{key}", other) != pb.text(f"explorer.{key}", lang):
                assert pb.text(f"explorer.{key}", other) not in ex.timeline.value.split("</b></p>")[0], key
        tr = CaseTrainer(pf, seg, lang=lang, seed=3)
        assert tr.widget.get_title(0) == pb.text("trainer.gallery", lang)
        assert tr.widget.get_title(5) == pb.text("trainer.quiz_tab", lang)
        for key in ("traits", "cues", "tactics", "avoid", "escalation", "red"):
            assert pb.text(f"trainer.{key}", lang) in tr.card_html.value, key
        wi = WhatIfApp(pf, seg, AS_OF, lang=lang)
        assert wi.button.description == pb.text("whatif.run", lang)
        assert wi.controls["intensity"].description == pb.text("whatif.intensity", lang)
        assert "cash_loan" not in [label for label, _ in ex.controls["product"].options]
        assert pb.text("explorer.product_cash_loan", lang) in [o for o, _ in ex.controls["product"].options]
        assert ex.controls["balance"].readout_format == ",.0f"
        seen[lang] = (ex.controls["stage"].description, tr.widget.get_title(5), wi.button.description)
    assert all(a != b for a, b in zip(seen["zh"], seen["en"]))  # the language really switches


def test_no_label_tables_left_in_the_app_and_chart_modules():
    from pathlib import Path

    root = Path(playbook.__file__).parent
    for path in [*sorted((root / "widgets").glob("*.py")), root / "plots.py"]:
        src = path.read_text(encoding="utf-8")
        assert '"zh":' not in src and "Asia/Shanghai" not in src, path.name


def test_timeline_shows_times_in_the_business_time_zone(data):
    import dataclasses

    from playbook.widgets.common import timeline_html

    pf, seg = data
    pb = playbook.load_playbook()
    acc = pf.interactions["account_id"].iloc[0]
    ts = pf.interactions.loc[pf.interactions["account_id"] == acc, "ts"].min()
    for tz in (pb.timezone, "America/New_York"):
        shown = timeline_html(dataclasses.replace(pf, timezone=tz), acc, seg, pb, "en")
        assert f"{ts.tz_convert(tz):%Y-%m-%d %H:%M}" in shown, tz
    assert pb.timezone_of(dataclasses.replace(pf, timezone=None)) == pb.timezone


def test_timeline_adds_the_debtors_local_time_when_their_zone_differs(data):
    """A 22:19 Beijing-time call to a debtor in Urumqi was 20:19 there: the timeline says so,
    and names the zone its times are in; a debtor in the business zone gets no second time."""
    import dataclasses

    from playbook.widgets.common import timeline_html

    pf, seg = data
    pb = playbook.load_playbook()
    acc = pf.interactions["account_id"].iloc[0]
    ts = pf.interactions.loc[pf.interactions["account_id"] == acc, "ts"].min()
    accounts = pf.accounts.copy()
    accounts["timezone"] = accounts["timezone"].astype(object) if "timezone" in accounts else None
    accounts.loc[accounts["account_id"] == acc, "timezone"] = "Asia/Urumqi"
    shown = timeline_html(dataclasses.replace(pf, accounts=accounts), acc, seg, pb, "zh")
    assert f"（{pb.timezone}）" in shown
    assert f"{ts.tz_convert(pb.timezone):%Y-%m-%d %H:%M}（客户当地{ts.tz_convert('Asia/Urumqi'):%H:%M}，Asia/Urumqi）" in shown
    events = [cell for cell in re.findall(r"<td>(.*?)</td>", shown) if "：" in cell or ": " in cell]
    assert events and all("：" in cell and ": " not in cell for cell in events)  # 电话：无人接听, full-width in zh
    assert ": " not in shown and "</b>：" in shown  # the segments above it too (账龄阶段：M3+；...)
    assert ": " in timeline_html(dataclasses.replace(pf, accounts=accounts), acc, seg, pb, "en")
    accounts.loc[accounts["account_id"] == acc, "timezone"] = pb.timezone
    assert "客户当地" not in timeline_html(dataclasses.replace(pf, accounts=accounts), acc, seg, pb, "zh")


def test_load_or_demo_only_gives_demo_data_for_none(tmp_path):
    from playbook.errors import SourceError
    from playbook.widgets import load_or_demo

    demo = load_or_demo(None, AS_OF, n_demo=200, seed=3)
    assert len(demo.accounts) == 200
    with pytest.raises(SourceError):
        load_or_demo(tmp_path / "no_such_folder", AS_OF)
    folder = tmp_path / "pf"
    folder.mkdir()
    for name, frame in demo.tables().items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    loaded = load_or_demo(str(folder), AS_OF)
    assert sorted(loaded.accounts["account_id"]) == sorted(demo.accounts["account_id"])


def test_apps_default_to_the_briefings_demo_customers(monkeypatch, tmp_path):
    """data_path=None: data/demo when it exists, else the same portfolio `make briefings` generates."""
    from playbook.widgets import common

    monkeypatch.setattr(common, "default_demo_dir", lambda: tmp_path / "absent")
    generated = common.load_or_demo(None)
    expected = playbook.demo_portfolio(5000, 7, "2026-11-29")
    assert len(generated.accounts) == 5000
    pd.testing.assert_frame_equal(generated.accounts.reset_index(drop=True), expected.accounts.reset_index(drop=True))
    folder = tmp_path / "demo"
    folder.mkdir()
    small = playbook.demo_portfolio(50, 1, AS_OF)
    for name, frame in small.tables().items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    monkeypatch.setattr(common, "default_demo_dir", lambda: folder)
    assert sorted(common.load_or_demo(None).accounts["account_id"]) == sorted(small.accounts["account_id"])


def test_a_missing_data_path_in_a_notebook_is_an_error_not_demo_data(tmp_path):
    """The notebooks load through load_or_demo: a mistyped path fails the run."""
    import papermill as pm

    from .conftest import ROOT

    with pytest.raises(pm.PapermillExecutionError, match="SourceError"):
        pm.execute_notebook(str(ROOT / "notebooks" / "case_type_trainer.ipynb"), str(tmp_path / "out.ipynb"),
                            parameters={"interactive": False, "lang": "en", "data_path": str(tmp_path / "typo")},
                            kernel_name="python3", progress_bar=False, cwd=str(tmp_path))


def test_type_evidence_lists_counter_evidence_and_names_the_runner_up_without_a_raw_score(data):
    """The trainer and explorer show what counted against the type too (so the cues account for
    the score), and the runner-up by name only (no bare score such as '(1.23)')."""
    import re

    from playbook.prepared import prepare
    from playbook.reasons import explain_type
    from playbook.widgets.trainer import type_evidence_html

    pf, seg = data
    pb = playbook.load_playbook()
    feats = prepare(pf, AS_OF).features_for(90)
    against = next(a for a in seg.loc[seg["type_score"].notna(), "account_id"]
                   if explain_type(seg, feats, a, "en", pb)["against"])
    e = explain_type(seg, feats, against, "zh", pb)
    for section in ("trainer", "explorer"):
        page = type_evidence_html(pb, seg, against, "zh", features=feats, section=section)
        assert "<b>反证</b>" in page and e["against"][0]["text"] in page.split("<b>反证</b>")[1]
        assert not re.search(r"第二可能类型[:：] ?[^<]*\(\d+\.\d+\)", page)
        assert f"第二可能类型：{e['runner_up_name']}" in page if e["runner_up_name"] else True  # full-width in zh
    plain = next(a for a in seg.loc[seg["type_score"].notna(), "account_id"]
                 if not explain_type(seg, feats, a, "en", pb)["against"])
    assert "Against" not in type_evidence_html(pb, seg, plain, "en", features=feats)
