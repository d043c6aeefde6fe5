"""A real browser: Voilà serves the apps on loopback; Chromium filters and downloads the
explorer's export, and answers the trainer's quiz, in both languages (screenshots kept in
``$PLAYBOOK_SCREENSHOTS`` when set)."""

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


def _notebook(name: str, lang: str, tmp_path: Path) -> Path:
    """The shipped notebook, or a copy whose ``lang`` parameter is ``lang``."""
    src = ROOT / "notebooks" / f"{name}.ipynb"
    if lang == "zh":
        return src
    import nbformat

    nb = nbformat.read(src, as_version=4)
    for cell in nb.cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            cell.source = cell.source.replace('lang = "zh"', f'lang = "{lang}"')
    out = tmp_path / f"{name}_{lang}.ipynb"
    nbformat.write(nb, out)
    return out


@pytest.fixture()
def voila(tmp_path):
    """Serve a notebook with Voilà on loopback; yields a function notebook -> (url, proc, log)."""
    started = []

    def serve(notebook: Path):
        port = _free_port()
        voila_bin = Path(sys.executable).with_name("voila")
        log_path = tmp_path / f"voila_{port}.log"
        log = open(log_path, "w")
        proc = subprocess.Popen([str(voila_bin), str(notebook), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
                                 "--show_tracebacks=True"], stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
        started.append((proc, log))
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
        return url, proc, log_path

    yield serve
    for proc, log in started:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _browser(p):
    return p.chromium.launch(executable_path=CHROMIUM, args=[
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"])


def _shots(tmp_path: Path) -> Path:
    shots = Path(os.environ.get("PLAYBOOK_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    return shots


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_explorer_filter_and_export_download_in_chromium(voila, tmp_path, lang):
    import io

    import pandas as pd
    from playwright.sync_api import sync_playwright

    import playbook
    from playbook.widgets import load_or_demo

    pb = playbook.load_playbook()
    n_all = len(load_or_demo(None).accounts)  # the briefings' demo customers
    url, proc, log = voila(_notebook("portfolio_explorer", lang, tmp_path))
    assert proc.poll() is None, log.read_text()
    shots = _shots(tmp_path)
    with sync_playwright() as p:
        browser = _browser(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.goto(url, timeout=120_000)
        count = page.locator(".pb-count")
        count.wait_for(timeout=120_000)
        before = count.inner_text()
        table_before = page.locator(".pb-table").inner_html()
        chart_before = page.locator(".pb-chart").inner_html()
        assert f"{n_all:,}" in before and pb.text("explorer.matching", lang) in before
        assert "cash_loan" not in page.content()
        page.screenshot(path=str(shots / f"explorer_{lang}_before.png"), full_page=True)
        stage = page.locator(".widget-select-multiple select").first
        stage.select_option(label=pb.label("stage", "M2", lang))
        page.wait_for_function("b => document.querySelector('.pb-count').innerText !== b", arg=before, timeout=30_000)
        after = count.inner_text()
        assert after != before and f"{n_all:,}" not in after
        # the table and the chart are separate outputs, redrawn after the count: each must follow
        # (a loaded machine redraws them a moment later, so wait for them rather than look at once)
        page.wait_for_function("b => document.querySelector('.pb-table').innerHTML !== b", arg=table_before, timeout=30_000)
        page.wait_for_function("b => document.querySelector('.pb-chart').innerHTML !== b", arg=chart_before, timeout=30_000)
        page.screenshot(path=str(shots / f"explorer_{lang}_after.png"), full_page=True)
        # export: a browser download of the filtered list with translated headers
        page.locator(".pb-export").click()
        link = page.locator("a.pb-download")
        link.wait_for(timeout=60_000)
        with page.expect_download(timeout=60_000) as info:
            link.click()
        download = info.value
        assert download.suggested_filename == f"{pb.text('explorer.export_file', lang)}.csv"
        target = tmp_path / f"export_{lang}.csv"
        download.save_as(target)
        page.screenshot(path=str(shots / f"explorer_{lang}_export.png"), full_page=True)
        # drill-down of the first account: its type in words and its timeline
        options = page.locator(".widget-dropdown select").first
        options.select_option(index=1)
        page.wait_for_function("() => document.querySelector('.pb-timeline') && "
                               "document.querySelector('.pb-timeline').innerText.length > 20", timeout=30_000)
        page.screenshot(path=str(shots / f"explorer_{lang}_account.png"), full_page=True)
        browser.close()
    out = pd.read_csv(io.BytesIO(target.read_bytes()), encoding="utf-8-sig")
    assert f"{len(out):,}" in after
    assert pb.text("explorer.stage", lang) in out.columns and pb.text("explorer.phone", lang) in out.columns
    assert set(out[pb.text("explorer.stage", lang)]) == {pb.label("stage", "M2", lang)}
    assert (shots / f"explorer_{lang}_after.png").stat().st_size > 10_000


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_trainer_quiz_in_chromium(voila, tmp_path, lang):
    from playwright.sync_api import sync_playwright

    import playbook

    pb = playbook.load_playbook()
    url, proc, log = voila(_notebook("case_type_trainer", lang, tmp_path))
    assert proc.poll() is None, log.read_text()
    shots = _shots(tmp_path)
    with sync_playwright() as p:
        browser = _browser(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(url, timeout=120_000)
        page.locator(".pb-card").wait_for(timeout=120_000)
        page.screenshot(path=str(shots / f"trainer_{lang}_gallery.png"), full_page=True)
        for key in ("craft_tab", "cases_tab", "calculator_tab", "assessed_tab"):
            page.locator(".lm-TabBar-tab", has_text=pb.text(f"trainer.{key}", lang)).first.click()
            page.wait_for_timeout(400)
            page.screenshot(path=str(shots / f"trainer_{lang}_{key}.png"), full_page=True)
        assert "5,000" in page.content()  # the calculator shows the case's 10 x 5,000 (still in the DOM)
        page.locator(".lm-TabBar-tab", has_text=pb.text("trainer.quiz_tab", lang)).first.click()
        radios = page.locator(".pb-choice input[type=radio]")
        radios.first.wait_for(timeout=30_000)
        assert radios.count() == 7
        assert all(not radios.nth(i).is_checked() for i in range(radios.count()))  # no answer preselected
        radios.nth(1).check()
        page.locator(".pb-check").click()
        fb = page.locator(".pb-feedback")
        fb.wait_for(timeout=30_000)
        text = fb.inner_text()
        assert pb.text("trainer.cues_fired", lang) in text and pb.text("trainer.answer_is", lang) in text
        assert ">=" not in text and "reason" not in text.lower()
        page.screenshot(path=str(shots / f"trainer_{lang}_quiz.png"), full_page=True)
        page.locator(".pb-next").click()
        page.wait_for_function("() => !document.querySelector('.pb-feedback')", timeout=30_000)
        assert all(not radios.nth(i).is_checked() for i in range(radios.count()))
        browser.close()
    assert (shots / f"trainer_{lang}_quiz.png").stat().st_size > 10_000
