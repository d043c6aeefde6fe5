"""environment.yml and pyproject.toml must list the same dependencies and ranges."""

from __future__ import annotations

import re
import tomllib

import yaml

from .conftest import ROOT

CONDA_NAMES = {"python-duckdb": "duckdb"}


def _split(spec: str) -> tuple[str, str]:
    m = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", spec.strip())
    return m.group(1).lower(), re.sub(r"^\[[^\]]*\]", "", m.group(2).replace(" ", ""))  # conda has no extras


def test_environment_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    py = dict(_split(s) for s in project["dependencies"] + project["optional-dependencies"]["dev"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str):
            name, rng = _split(dep)
            if name not in ("python", "pip"):
                conda[CONDA_NAMES.get(name, name)] = rng
    assert conda == py


def test_import_does_no_work():
    import subprocess
    import sys

    code = "import sys, playbook; print(sorted(m for m in ('pandas', 'pandera', 'yaml') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_python_dash_m_entry_point():
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "playbook", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "demo-data" in r.stdout and "validate" in r.stdout


def test_contract_interfaces_exist():
    import playbook

    for name in ("load_playbook", "load_portfolio", "demo_portfolio", "segment"):
        assert callable(getattr(playbook, name))
    assert callable(playbook.metrics.roll_rates) and callable(playbook.datasets.uci_credit_card)


NOTEBOOK_NAMES = ("portfolio_explorer", "strategy_what_if", "case_type_trainer", "team_briefing")


def _build_wheel(src, out) -> "Path":  # noqa: F821 - pathlib.Path
    """Build the project's wheel from a copy of the source tree at ``src`` into ``out``."""
    import importlib.util
    import subprocess
    import sys

    import setuptools

    major, minor = (int(x) for x in setuptools.__version__.split(".")[:2])
    # setuptools >= 70.1 (or the `wheel` package) builds wheels itself; else let pip fetch the backend
    local = (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)]
    if local:
        cmd.insert(5, "--no-build-isolation")
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=src)
    assert r.returncode == 0, r.stdout + r.stderr
    wheels = list(out.glob("collections_playbook-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_ships_the_notebooks_and_the_installed_template_is_used(tmp_path):
    """`pip install .` carries the notebooks: the briefing template resolves inside the
    installed package when no source tree is importable."""
    import os
    import shutil
    import subprocess
    import sys
    import zipfile

    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "playbook", src / "playbook", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    wheel = _build_wheel(src, tmp_path / "dist")

    names = set(zipfile.ZipFile(wheel).namelist())
    for nb in NOTEBOOK_NAMES:
        assert f"playbook/notebooks/{nb}.ipynb" in names, nb
        assert f"playbook/notebooks/{nb}.py" not in names  # jupytext twins are for review, not modules
    assert "playbook/content/ui.yaml" in names

    site = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(site),
                        str(wheel)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = ("import json, nbformat, playbook; from playbook.runner import default_template as d; p = d(); "
            "nb = nbformat.read(p, as_version=4); "
            "print(json.dumps([playbook.__file__, str(p), "
            "any('parameters' in c.metadata.get('tags', []) for c in nb.cells)]))")
    env = {**os.environ, "PYTHONPATH": str(site)}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=elsewhere, env=env)
    assert r.returncode == 0, r.stderr
    import json

    module, template, has_parameters = json.loads(r.stdout.strip().splitlines()[-1])
    assert module.startswith(str(site)) and template.startswith(str(site)), (module, template)
    assert template.endswith("playbook/notebooks/team_briefing.ipynb") and has_parameters


def test_top_level_notebooks_folder_is_the_packaged_one():
    """Analysts open `notebooks/`; it is the same folder the package ships."""
    assert (ROOT / "notebooks").resolve() == (ROOT / "playbook" / "notebooks").resolve()
    from playbook.runner import default_template

    assert default_template().resolve() == (ROOT / "notebooks" / "team_briefing.ipynb").resolve()
