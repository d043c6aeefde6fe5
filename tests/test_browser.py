"""A real browser: Voilà serves the explorer on loopback, Chromium changes a filter."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .conftest import ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (make system-deps installs Debian's chromium)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def voila_explorer(tmp_path):
    port = _free_port()
    voila = Path(sys.executable).with_name("voila")
    log = open(tmp_path / "voila.log", "w")
    proc = subprocess.Popen([str(voila), str(ROOT / "notebooks" / "portfolio_explorer.ipynb"), "--no-browser",
                             f"--port={port}", "--Voila.ip=127.0.0.1", "--show_tracebacks=True"],
                            stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "api", timeout=2)
            break
        except urllib.error.HTTPError:  # the server answers: it is up
            break
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.3)
    yield url, proc, tmp_path / "voila.log"
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def test_filter_change_in_chromium_updates_the_table_and_chart(voila_explorer, tmp_path):
    from playwright.sync_api import sync_playwright

    url, proc, log = voila_explorer
    assert proc.poll() is None, log.read_text()
    shots = Path(os.environ.get("PLAYBOOK_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url, timeout=120_000)
        count = page.locator(".pb-count")
        count.wait_for(timeout=120_000)
        before = count.inner_text()
        table_before = page.locator(".pb-table").inner_html()
        chart_before = page.locator(".pb-chart").first.get_attribute("src")
        assert "2,000" in before
        page.screenshot(path=str(shots / "explorer_before.png"), full_page=True)
        stage = page.locator(".widget-select-multiple select").first
        stage.select_option(label="M2（31-60天）")
        page.wait_for_function("b => document.querySelector('.pb-count').innerText !== b", arg=before, timeout=30_000)
        after = count.inner_text()
        page.wait_for_function("src => document.querySelector('.pb-chart').getAttribute('src') !== src",
                               arg=chart_before, timeout=30_000)
        page.screenshot(path=str(shots / "explorer_after.png"), full_page=True)
        assert after != before and "2,000" not in after
        assert page.locator(".pb-table").inner_html() != table_before
        browser.close()
    assert (shots / "explorer_after.png").stat().st_size > 10_000
