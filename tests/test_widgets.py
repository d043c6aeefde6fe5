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
