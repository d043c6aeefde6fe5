"""Run the team-briefing notebook once per team with papermill, in parallel processes.

Each team gets ``<team>.ipynb`` and ``<team>.html`` (no input cells, self-contained); the
run gets ``index.html`` and ``manifest.json``. One team failing does not stop the others.
Every file is written to a temporary name and renamed into place.
"""

from __future__ import annotations

import html
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from . import __version__
from ._checks import check_choice, check_date, check_positive_int
from .atomic import write_json_atomic, write_text_atomic
from .content import load_playbook
from .errors import SourceError, UnknownKeyError
from .portfolio import Portfolio

__all__ = ["run_briefings", "run_notebook", "default_template"]

_RACE_MARKERS = ("Address already in use", "Kernel didn't respond", "Kernel died before replying",
                 "ZMQError", "timed out waiting for kernel")


def default_template() -> Path:
    """The shipped team-briefing notebook, the template ``playbook briefings`` runs.

    The notebooks are package data (``playbook/notebooks/``; the top-level ``notebooks/``
    of a checkout links there), so this resolves inside the installed package, with or
    without a source tree.

    Returns
    -------
    Path
        ``team_briefing.ipynb`` of the installed ``playbook`` package.

    Raises
    ------
    SourceError
        If the package was installed without its notebooks.
    """
    shipped = Path(str(resources.files("playbook") / "notebooks" / "team_briefing.ipynb"))
    if shipped.is_file():
        return shipped
    raise SourceError(str(shipped), "the briefing notebook is missing from the installed package; "
                                    "reinstall collections-playbook or pass --template")


def run_notebook(template: str | Path, out_ipynb: str | Path, out_html: str | Path | None,
                 parameters: Mapping[str, Any], *, retries: int = 3, cwd: str | Path | None = None) -> dict:
    """Execute one notebook with papermill and export it to HTML without input cells.

    Retries when kernels race at start-up (papermill #511). Returns ``{"status", "seconds",
    "error"}``; never raises for a failing notebook.
    """
    import nbformat
    import papermill as pm
    from nbconvert import HTMLExporter

    out_ipynb, t0 = Path(out_ipynb), time.perf_counter()
    tmp = out_ipynb.with_name(f".{out_ipynb.name}.{os.getpid()}.tmp.ipynb")
    error = None
    for attempt in range(1, retries + 1):
        try:
            pm.execute_notebook(str(template), str(tmp), parameters=dict(parameters), progress_bar=False,
                                log_output=False, kernel_name="python3", cwd=str(cwd) if cwd else None)
            error = None
            break
        except Exception as exc:  # noqa: BLE001 - a failing team is reported, not raised
            error = f"{type(exc).__name__}: {exc}".strip()
            if attempt < retries and any(m in error for m in _RACE_MARKERS):
                time.sleep(0.5 * attempt)
                continue
            break
    status = "failed" if error else "ok"
    if tmp.exists():
        nb = nbformat.read(tmp, as_version=4)
        pm_meta = nb.metadata.get("papermill", {})
        if pm_meta.get("exception") and not error:
            status, error = "failed", "notebook recorded an exception"
        tmp.replace(out_ipynb)
        if out_html is not None:
            from traitlets.config import Config

            cfg = Config()
            cfg.TagRemovePreprocessor.remove_cell_tags = {"remove_cell"}
            cfg.TagRemovePreprocessor.enabled = True
            exporter = HTMLExporter(config=cfg, exclude_input=True, exclude_input_prompt=True,
                                    exclude_output_prompt=True)
            body, _ = exporter.from_notebook_node(nb)
            write_text_atomic(Path(out_html), body)
    if error:  # papermill puts the notebook's whole traceback in the message: keep its last line
        error = error.strip().splitlines()[-1][:2000]
    return {"status": status, "seconds": round(time.perf_counter() - t0, 2), "error": error}


def _job(args: tuple) -> tuple[str, dict]:
    team, template, out_dir, params = args
    logs = out_dir / ".logs"
    logs.mkdir(exist_ok=True)
    # the kernel inherits this worker's stderr: keep its chatter in a log file, not the console
    with open(logs / f"{team}.log", "w", encoding="utf-8") as fh:
        os.dup2(fh.fileno(), 2)
        res = run_notebook(template, out_dir / f"{team}.ipynb", out_dir / f"{team}.html", params)
    return team, res


def run_pool(template: str | Path, out_dir: Path, params: Mapping[str, Mapping[str, Any]], *, jobs: int = 2,
             log=print, while_running: Callable[[], None] | None = None) -> dict[str, dict]:  # noqa: ANN001
    """Run ``template`` once per key of ``params`` in ``jobs`` parallel processes.

    Writes ``<key>.ipynb`` and ``<key>.html`` into ``out_dir``; returns each run's result.
    Shows a progress bar on a terminal and plain log lines elsewhere. ``while_running`` is
    called once the runs are submitted (kernels start meanwhile).
    """
    import multiprocessing as mp

    names = list(params)
    results: dict[str, dict] = {}
    bar = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=len(names), desc="briefings", unit="team")
    with ProcessPoolExecutor(max_workers=max(1, min(jobs, len(names))), mp_context=mp.get_context("spawn")) as pool:
        futures = [pool.submit(_job, (t, Path(template), Path(out_dir), dict(params[t]))) for t in names]
        if while_running is not None:
            while_running()
        for i, fut in enumerate(as_completed(futures), 1):
            team, res = fut.result()
            results[team] = res
            if bar is not None:
                bar.update(1)
                bar.set_postfix_str(f"{team} {res['status']}")
            else:
                log(f"[{i}/{len(names)}] {team}: {res['status']} in {res['seconds']}s"
                    + (f" ({res['error']})" if res["error"] else ""))
    if bar is not None:
        bar.close()
    return results


def _index_html(manifest: dict) -> str:
    rows = "".join(
        f"<tr><td><a href='{html.escape(t['team'])}.html'>{html.escape(t['team'])}</a></td>"
        f"<td class='{html.escape(t['status'])}'>{html.escape(t['status'])}</td><td>{t['accounts']}</td>"
        f"<td>{t['seconds']}</td><td>{html.escape(t.get('error') or '')}</td></tr>" for t in manifest["teams"])
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Briefings {html.escape(manifest['as_of'])}</title>"
            "<style>body{font-family:sans-serif}td,th{padding:4px 10px;border-bottom:1px solid #ddd}"
            ".ok{color:green}.failed{color:#b00}</style></head><body>"
            f"<h1>团队晨报 / Team briefings {html.escape(manifest['as_of'])}</h1>"
            f"<p>data sha256 {html.escape(manifest['data_sha256'])} · playbook {html.escape(manifest['playbook_version'])}</p>"
            "<table><tr><th>team</th><th>status</th><th>accounts</th><th>seconds</th><th>error</th></tr>"
            f"{rows}</table></body></html>")


def _check_writable(out: Path) -> None:
    """Raise :class:`SourceError` unless ``out`` can be created or written, creating nothing."""
    probe = out
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise SourceError(str(out), f"cannot write reports here ({probe} is not a folder)")
    import tempfile

    try:  # permissions alone do not tell (root, read-only mounts, /proc): try, and leave nothing
        os.rmdir(tempfile.mkdtemp(prefix=".playbook-write-check-", dir=probe))
    except OSError as exc:
        raise SourceError(str(out), f"cannot write reports here ({probe}: {exc.strerror})") from None


def run_briefings(data: "str | Path | Portfolio", as_of: str, *, teams: str | Sequence[str] = "all",
                  out: str | Path = "reports", jobs: int = 2, lang: str = "zh", top_n: int = 20, pack: str = "cn",
                  overrides: Mapping[str, Mapping[str, Any]] | None = None,
                  template: str | Path | None = None, mapping: str | Path | None = None,
                  log=print) -> dict:  # noqa: ANN001
    """Produce one briefing per team under ``out/<as_of>/``; returns the manifest.

    Everything is checked before any kernel starts (the data against the contract, the
    pack, the teams, ``top_n``, the template and whether ``out`` is writable): bad input
    raises a :class:`~playbook.errors.PlaybookError` with exit code 2 and writes nothing.
    Once runs start, ``manifest.json`` and ``index.html`` are always written, also when
    teams (or the shared preparation) fail. ``overrides`` gives extra notebook parameters
    per team (e.g. ``{"care": {"top_n": 50}}``).
    """
    from .briefing import prepare
    from .compliance import get_pack
    from .loading import load_portfolio

    day = check_date("as_of", as_of)
    check_choice("lang", lang, ("zh", "en"))
    jobs = check_positive_int("jobs", jobs)
    top_n = check_positive_int("top_n", top_n)
    pb = load_playbook()
    get_pack(pack, pb)
    names = list(pb.teams) if teams == "all" else ([t.strip() for t in teams.split(",")] if isinstance(teams, str) else list(teams))
    for t in names:
        if t not in pb.teams:
            raise UnknownKeyError("team", t, pb.teams)
    template = Path(template) if template else default_template()
    if not template.is_file():
        raise SourceError(str(template), "briefing notebook not found")
    out_dir = Path(out) / str(day.date())
    _check_writable(out_dir)
    pf = data if isinstance(data, Portfolio) else load_portfolio(data, mapping, playbook=pb)
    for table in pf.missing:
        log(f"note: {pb.text(f'missing.{table}', 'en')}")
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    prepared = out_dir / ".prepared"
    for stale in (prepared / "provenance.json", prepared / "prepare_failed.txt"):
        stale.unlink(missing_ok=True)
    where = "(portfolio)" if isinstance(data, Portfolio) else (
        str(Path(data).resolve()) if "://" not in str(data) else str(data))
    base = {"data_path": where, "as_of": str(day.date()), "lang": lang, "out_dir": str(out_dir.resolve()),
            "top_n": top_n, "interactive": False, "prepared": str(prepared.resolve()), "pack": pack,
            "wait_prepared": 900}
    params = {t: {**base, "team": t, **dict((overrides or {}).get(t, {}))} for t in names}
    failure: list[str] = []

    def prepare_now() -> None:
        # runs while the first kernels start; the notebooks wait for provenance.json
        try:
            prepare(pf, day, prepared, pack=pack, playbook=pb)
            log(f"prepared the portfolio in {time.perf_counter() - t0:.1f}s; running {len(names)} team(s) with {jobs} job(s)")
        except Exception as exc:  # noqa: BLE001 - reported in every team's result and the manifest
            prepared.mkdir(parents=True, exist_ok=True)
            write_text_atomic(prepared / "prepare_failed.txt", f"{type(exc).__name__}: {exc}")
            failure.append(f"preparing the portfolio failed: {type(exc).__name__}: {exc}")

    results = run_pool(template, out_dir, params, jobs=jobs, log=log, while_running=prepare_now)
    import pandas as pd

    team_sizes = pd.Series(dtype="int64")
    if not failure:
        queued = pd.read_parquet(prepared / "segments.parquet", columns=["team", "worked"])
        team_sizes = queued.loc[queued["worked"], "team"].astype(str).value_counts()
    manifest = {
        "as_of": str(day.date()), "data": str(where), "data_sha256": pf.sha256,
        "playbook_version": __version__, "content_sha256": pb.content_sha256, "lang": lang, "pack": pack,
        "seconds": round(time.perf_counter() - t0, 2), "missing_tables": list(pf.missing),
        "error": failure[0] if failure else None,
        "teams": [{"team": t, "status": results[t]["status"], "seconds": results[t]["seconds"],
                   "accounts": int(team_sizes.get(t, 0)), "data_sha256": pf.sha256,
                   "playbook_version": __version__, "parameters": params[t],
                   "error": (failure[0] if failure else None) or results[t]["error"]}
                  for t in names],
    }
    write_json_atomic(out_dir / "manifest.json", manifest)
    write_text_atomic(out_dir / "index.html", _index_html(manifest))
    return manifest
