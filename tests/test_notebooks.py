"""Every notebook runs headless (interactive=False) under papermill."""

from __future__ import annotations

import papermill as pm
import pytest

from .conftest import ROOT

NOTEBOOKS = ["portfolio_explorer", "strategy_what_if", "case_type_trainer", "team_briefing"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_headless(name, tmp_path):
    params = {"interactive": False, "lang": "en"}
    if name == "strategy_what_if":
        params["draws"] = 100
    out = tmp_path / f"{name}.ipynb"
    nb = pm.execute_notebook(str(ROOT / "notebooks" / f"{name}.ipynb"), str(out), parameters=params,
                             kernel_name="python3", progress_bar=False, cwd=str(tmp_path))
    assert not nb.metadata.papermill.get("exception")
    text = out.read_text(encoding="utf-8")
    assert "application/vnd.jupyter.widget-view+json" not in text  # no widgets were built
    assert "text/html" in text


def test_notebooks_are_committed_clean_and_paired():
    import json

    for name in NOTEBOOKS:
        nb = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))
        assert all(not c.get("outputs") for c in nb["cells"]), name
        assert any("parameters" in c.get("metadata", {}).get("tags", []) for c in nb["cells"]), name
        assert (ROOT / "notebooks" / f"{name}.py").is_file()


def test_jupytext_twins_match_their_notebooks():
    import jupytext

    for name in NOTEBOOKS:
        nb = jupytext.read(ROOT / "notebooks" / f"{name}.ipynb")
        twin = jupytext.read(ROOT / "notebooks" / f"{name}.py")
        assert [(c.cell_type, c.source.strip()) for c in nb.cells] == \
               [(c.cell_type, c.source.strip()) for c in twin.cells], name

