from __future__ import annotations

import warnings

import matplotlib
import pytest

matplotlib.use("Agg")

import playbook  # noqa: E402
from playbook import plots  # noqa: E402
from playbook.metrics import roll_rates  # noqa: E402


def test_without_a_cjk_font_charts_fall_back_to_english_with_one_warning(monkeypatch):
    monkeypatch.setattr(plots, "cjk_font", lambda: None)
    monkeypatch.setattr(plots, "_warned", set())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert plots.chart_lang("zh") == "en"
        assert plots.chart_lang("zh") == "en"
    assert len([w for w in caught if "CJK" in str(w.message)]) == 1
    assert plots.chart_lang("en") == "en"


def test_charts_use_the_playbook_labels(monkeypatch):
    monkeypatch.setattr(plots, "cjk_font", lambda: None)
    pf = playbook.demo_portfolio(300, 2, "2026-11-29")
    seg = playbook.segment(pf, "2026-11-29")
    ax = plots.segment_mix(seg, "behaviour_type", by="stage", lang="en")
    labels = {t.get_text() for t in ax.get_yticklabels()}
    assert "Unclassified" in labels
    ax2 = plots.roll_heatmap(roll_rates(pf.history), lang="en")
    assert ax2.get_title() == "Roll rates (row shares)"


@pytest.mark.filterwarnings("ignore:Glyph")
def test_chart_titles_come_from_the_content_in_both_languages(monkeypatch):
    import matplotlib as mpl
    import matplotlib.pyplot as plt

    pb = playbook.load_playbook()
    pf = playbook.demo_portfolio(200, 4, "2026-11-29")
    roll = roll_rates(pf.history)
    seg = playbook.segment(pf, "2026-11-29")
    # pretend a CJK font exists: the labels switch to Chinese (boxes do not matter here)
    monkeypatch.setattr(plots, "cjk_font", lambda: "DejaVu Sans")
    with mpl.rc_context():
        for lang in ("zh", "en"):
            ax = plots.roll_heatmap(roll, lang=lang)
            assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == (
                pb.text("chart.roll", lang), pb.text("chart.to", lang), pb.text("chart.from", lang))
            ax2 = plots.segment_mix(seg, "stage", lang=lang)
            assert ax2.get_xlabel() == pb.text("chart.accounts", lang)
            plt.close("all")
