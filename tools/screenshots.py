"""Screenshots of what people read: index.html, every team page (zh and en) and both Voilà
apps (portfolio explorer, case-type trainer), taken with headless Chromium.

    python tools/screenshots.py --data data/demo --as-of 2026-11-29 --out reports/screenshots

Runs the briefings once per language into ``OUT/pages/<lang>/`` and writes
``OUT/<lang>_index.png``, ``OUT/<lang>_<team>.png``, ``OUT/explorer.png`` and
``OUT/trainer.png``. Needs Chromium (``make system-deps``) and Playwright's Python package.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
APPS = {"explorer": ("portfolio_explorer.ipynb", ".pb-count"), "trainer": ("case_type_trainer.ipynb", ".pb-card")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pages(data: str, as_of: str, out: Path, jobs: int) -> dict[str, Path]:
    """Run the briefings in both languages; the folder of each run's pages."""
    from playbook.runner import run_briefings

    where = {}
    for lang in ("zh", "en"):
        manifest = run_briefings(data, as_of, teams="all", out=out / "pages" / lang, jobs=jobs, lang=lang)
        where[lang] = out / "pages" / lang / manifest["as_of"]
        failed = [t["team"] for t in manifest["teams"] if t["status"] != "ok"]
        if failed:
            print(f"screenshots: {lang}: failed teams {failed} (see {where[lang] / 'manifest.json'})", file=sys.stderr)
    return where


def _serve(notebook: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    voila = Path(sys.executable).with_name("voila")
    proc = subprocess.Popen([str(voila), str(notebook), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
                             "--show_tracebacks=True"], stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=log.parent)
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
    return proc, url


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="data/demo")
    ap.add_argument("--as-of", default="2026-11-29")
    ap.add_argument("--out", default="reports/screenshots", type=Path)
    ap.add_argument("--jobs", default=2, type=int)
    ap.add_argument("--width", default=1400, type=int)
    ap.add_argument("--skip-apps", action="store_true", help="only the briefing pages")
    a = ap.parse_args(argv)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("screenshots: Chromium not found (make system-deps installs Debian's chromium)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    out = a.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    where = _pages(a.data, a.as_of, out, a.jobs)
    shots = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        page = browser.new_page(viewport={"width": a.width, "height": 1000})
        for lang, folder in where.items():
            for html in sorted(folder.glob("*.html")):
                page.goto(html.as_uri(), wait_until="load")
                target = out / f"{lang}_{html.stem}.png"
                page.screenshot(path=str(target), full_page=True)
                shots.append(target)
        if not a.skip_apps:
            # Voilà lays the app out in the window: a tall window shows the whole app
            page.set_viewport_size({"width": a.width, "height": 2400})
            for name, (nb, ready) in APPS.items():
                log = out / f"voila_{name}.log"
                proc, url = _serve(ROOT / "notebooks" / nb, log)
                try:
                    page.goto(url, timeout=120_000)
                    page.locator(ready).first.wait_for(timeout=120_000)
                    page.wait_for_timeout(1500)  # charts render after the first widget
                    target = out / f"{name}.png"
                    page.screenshot(path=str(target), full_page=True)
                    shots.append(target)
                except Exception as exc:  # noqa: BLE001 - report, keep the other screenshots
                    print(f"screenshots: {name}: {exc} (see {log})", file=sys.stderr)
                finally:
                    proc.terminate()
                    try:
                        proc.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        proc.kill()
        browser.close()
    for s in shots:
        print(s.relative_to(Path.cwd()) if s.is_relative_to(Path.cwd()) else s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
