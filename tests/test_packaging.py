"""environment.yml and pyproject.toml must list the same dependencies and ranges."""

from __future__ import annotations

import re
import tomllib

import yaml

from .conftest import ROOT

CONDA_NAMES = {"python-duckdb": "duckdb"}


def _split(spec: str) -> tuple[str, str]:
    m = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", spec.strip())
    return m.group(1).lower(), m.group(2).replace(" ", "")


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
