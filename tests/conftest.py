from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import playbook
from playbook.content import default_content_dir

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("PLAYBOOK_SHARED_DATA", ROOT.parent / "shared" / "data"))
ZH_MAPPING = ROOT / "data" / "mappings" / "zh_export.yaml"


@pytest.fixture(scope="session")
def demo():
    """A small demo portfolio shared by read-only tests."""
    return playbook.demo_portfolio(400, 11, "2026-11-29")


@pytest.fixture()
def content_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped playbook content."""
    dst = tmp_path / "content"
    shutil.copytree(default_content_dir(), dst)
    return dst
