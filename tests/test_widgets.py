"""The widget apps as plain Python: set a widget's value, check the output model changed."""

from __future__ import annotations

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


def test_explorer_filters_update_count_table_and_chart(data, tmp_path):
    pf, seg = data
    app = PortfolioExplorer(pf, seg, lang="en", export_dir=tmp_path)
    assert "1,500" in app.count.value
    table_before, chart_before = app.table.value, app.chart.value
    app.controls["stage"].value = ("M2",)
    n_m2 = int((seg["stage"].astype(str) == "M2").sum())
    assert f"{n_m2:,}" in app.count.value and app.table.value != table_before
    assert app.chart.value and app.chart.value != chart_before
    app.controls["team"].value = ("mid",)
    expected = int(((seg["stage"].astype(str) == "M2") & (seg["team"].astype(str) == "mid")).sum())
    assert len(app.filtered()) == expected
    lo = 5000.0
    app.controls["balance"].value = (lo, app.controls["balance"].max)
    assert (app.filtered()["balance"] >= lo).all()
    # drill-down: a timeline with the account's reasons
    first = app.pick.options[0][1]
    app.pick.value = first
    assert "Reasons" in app.timeline.value and "stage=" in app.timeline.value
    # export of the filtered list, personal data masked
    for fmt in ("csv", "xlsx"):
        path = app.export(fmt)
        out = pd.read_csv(path) if fmt == "csv" else pd.read_excel(path)
        assert len(out) == len(app.filtered())
        assert not set(pf.accounts["phone"]) & set(out["phone"].astype(str))


def test_trainer_gallery_quiz_and_both_languages(data):
    pf, seg = data
    for lang in ("zh", "en"):
        app = CaseTrainer(pf, seg, lang=lang, seed=1)
        names = [label for label, _ in app.gallery_pick.options]
        pb = playbook.load_playbook()
        assert names == [pb.label("behaviour_type", t, lang) for t in SEED_TYPES]
        before = app.card_html.value
        app.gallery_pick.value = "serial_promiser"
        assert app.card_html.value != before and pb.label("behaviour_type", "serial_promiser", lang) in app.card_html.value
        assert "red" in app.card_html.value.lower() or "红线" in app.card_html.value
        case = app.current
        truth = seg.loc[seg["account_id"] == case, "behaviour_type"].astype(str).iloc[0]
        ok, text = app.answer(truth)
        rule = seg.loc[seg["account_id"] == case, "reason_behaviour_type"].astype(str).iloc[0]
        assert ok and rule in app.feedback.value
        assert case not in app.case_html.value  # the quiz case is anonymised
        wrong = next(t for t in SEED_TYPES if t != truth)
        assert app.answer(wrong)[0] is False


def test_whatif_app_runs_and_sliders_change_the_result(data):
    pf, seg = data
    app = WhatIfApp(pf, seg, AS_OF, lang="en")
    app.controls["strategies"].value = ("champion", "early_instalments")
    app.controls["draws"].value = 200
    first = app.run()
    assert app.progress.value == app.progress.max and "collected_mean" not in app.table.value or "champion" in app.table.value
    app.controls["intensity"].value = 2.0
    second = app.run()
    assert second["collected_mean"].iloc[0] > first["collected_mean"].iloc[0]
    assert app.chart.value[:4] == b"\x89PNG"


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
        tr = CaseTrainer(pf, seg, lang=lang, seed=3)
        assert tr.widget.get_title(0) == pb.text("trainer.gallery", lang)
        assert tr.widget.get_title(1) == pb.text("trainer.quiz_tab", lang)
        for key in ("traits", "cues", "tactics", "avoid", "escalation", "red"):
            assert pb.text(f"trainer.{key}", lang) in tr.card_html.value, key
        wi = WhatIfApp(pf, seg, AS_OF, lang=lang)
        assert wi.button.description == pb.text("whatif.run", lang)
        assert wi.controls["intensity"].description == pb.text("whatif.intensity", lang)
        seen[lang] = (ex.controls["stage"].description, tr.widget.get_title(1), wi.button.description)
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


def test_a_missing_data_path_in_a_notebook_is_an_error_not_demo_data(tmp_path):
    """The notebooks load through load_or_demo: a mistyped path fails the run."""
    import papermill as pm

    from .conftest import ROOT

    with pytest.raises(pm.PapermillExecutionError, match="SourceError"):
        pm.execute_notebook(str(ROOT / "notebooks" / "case_type_trainer.ipynb"), str(tmp_path / "out.ipynb"),
                            parameters={"interactive": False, "lang": "en", "data_path": str(tmp_path / "typo")},
                            kernel_name="python3", progress_bar=False, cwd=str(tmp_path))
