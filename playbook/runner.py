"""Run the team-briefing notebook once per team with papermill, in parallel processes.

Each team gets ``<team>.ipynb`` and ``<team>.html`` (no input cells, self-contained); the
run gets ``index.html`` and ``manifest.json``. One team failing does not stop the others.
Every file is written to a temporary name and renamed into place.
"""

from __future__ import annotations

import html
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from . import __version__
from ._checks import check_choice, check_date, check_positive_int
from .atomic import write_json_atomic, write_text_atomic
from .content import Playbook, load_playbook
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
                 parameters: Mapping[str, Any], *, retries: int = 3, cwd: str | Path | None = None,
                 title: str | None = None) -> dict:
    """Execute one notebook with papermill and export it to HTML without input cells.

    Retries when kernels race at start-up (papermill #511). Warnings and other text a
    cell writes to stderr go to the result's ``warnings`` (the run log and the manifest),
    never into the HTML; a failed run gets a short failure page instead of a traceback.
    Returns ``{"status", "seconds", "error", "warnings"}``; never raises for a failing
    notebook.
    """
    import copy

    import nbformat
    import papermill as pm
    from nbconvert import HTMLExporter

    out_ipynb, t0 = Path(out_ipynb), time.perf_counter()
    tmp = out_ipynb.with_name(f".{out_ipynb.name}.{os.getpid()}.tmp.ipynb")
    error = None
    with tempfile.TemporaryDirectory(prefix="playbook-kernel-") as sockets:
        for attempt in range(1, retries + 1):
            try:
                pm.execute_notebook(str(template), str(tmp), parameters=dict(parameters), progress_bar=False,
                                    log_output=False, kernel_name="python3", cwd=str(cwd) if cwd else None,
                                    **_local_kernel(sockets))
                error = None
                break
            except Exception as exc:  # noqa: BLE001 - a failing team is reported, not raised
                error = f"{type(exc).__name__}: {exc}".strip()
                if attempt < retries and any(m in error for m in _RACE_MARKERS):
                    time.sleep(0.5 * attempt)
                    continue
                break
    status = "failed" if error else "ok"
    warnings: list[str] = []
    if error:  # papermill puts the notebook's whole traceback in the message: keep its last line
        error = error.strip().splitlines()[-1][:2000]
    if tmp.exists():
        nb = nbformat.read(tmp, as_version=4)
        pm_meta = nb.metadata.get("papermill", {})
        if pm_meta.get("exception") and not error:
            status, error = "failed", "notebook recorded an exception"
        tmp.replace(out_ipynb)
        if out_html is not None:
            page = copy.deepcopy(nb)
            for cell in page.cells:
                kept = []
                for o in cell.get("outputs", []):
                    if o.get("output_type") == "stream" and o.get("name") == "stderr":
                        warnings += [line for line in str(o.get("text", "")).splitlines() if line.strip()]
                    elif o.get("output_type") != "error":
                        kept.append(o)
                cell["outputs"] = kept
            if status == "ok":
                from traitlets.config import Config

                cfg = Config()
                cfg.TagRemovePreprocessor.remove_cell_tags = {"remove_cell"}
                cfg.TagRemovePreprocessor.enabled = True
                exporter = HTMLExporter(config=cfg, exclude_input=True, exclude_input_prompt=True,
                                        exclude_output_prompt=True, template_name="playbook_page",
                                        language_code=str(parameters.get("lang", "en")),
                                        extra_template_basedirs=[str(Path(__file__).parent / "templates")])
                body, _ = exporter.from_notebook_node(page, resources={"metadata": {"name": title or out_ipynb.stem}})
            else:
                body = _failure_html(title or out_ipynb.stem, error or "")
            write_text_atomic(Path(out_html), body)
    elif out_html is not None and status == "failed":
        write_text_atomic(Path(out_html), _failure_html(title or out_ipynb.stem, error or ""))
    return {"status": status, "seconds": round(time.perf_counter() - t0, 2), "error": error, "warnings": warnings}


def _local_kernel(folder: str) -> dict:
    """Talk to the kernel over Unix sockets in a private folder rather than loopback TCP ports.

    No port is opened to other users of the machine, no port can be taken by a parallel run
    (papermill #511), and ipykernel has no unencrypted-TCP warning to print. Windows has no
    IPC transport and keeps the default.
    """
    if os.name == "nt":
        return {}
    from jupyter_client.manager import AsyncKernelManager

    class _IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(transport="ipc", ip=os.path.join(folder, "kernel"), **kwargs)

    return {"kernel_manager_class": _IPCKernelManager}


def _failure_html(title: str, error: str) -> str:
    """A page that says a run failed and why, in both languages, with no traceback."""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
            "<body style='font-family:sans-serif'><h1>{t}</h1><p>本页生成失败 / This page could not be produced.</p>"
            "<p><code>{e}</code></p><p>详见 manifest.json 与运行日志 / See manifest.json and the run log.</p>"
            "</body></html>").replace("{t}", html.escape(title)).replace("{e}", html.escape(error))


def _job(args: tuple) -> tuple[str, dict]:
    team, template, out_dir, params, title = args
    # the parent prepares the portfolio meanwhile: kernels (which inherit this) start at a
    # lower CPU priority, so that preparation is not slowed by their start-up
    try:
        os.nice(10)
    except (AttributeError, OSError):  # not available or not allowed: run at normal priority
        pass
    logs = out_dir / ".logs"
    logs.mkdir(exist_ok=True)
    # the kernel inherits this worker's stderr: keep its chatter in a log file, not the console
    with open(logs / f"{team}.log", "w", encoding="utf-8") as fh:
        os.dup2(fh.fileno(), 2)
        res = run_notebook(template, out_dir / f"{team}.ipynb", out_dir / f"{team}.html", params, title=title)
    return team, res


def run_pool(template: str | Path, out_dir: Path, params: Mapping[str, Mapping[str, Any]], *, jobs: int = 2,
             titles: Mapping[str, str] | None = None,
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
        futures = [pool.submit(_job, (t, Path(template), Path(out_dir), dict(params[t]), (titles or {}).get(t, t)))
                   for t in names]
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


HEADLINE = (("accounts", "{:,.0f}"), ("collected", "{:,.0f}"), ("rpc_rate", "{:.1%}"), ("roll_forward_rate", "{:.1%}"),
            ("cure_rate", "{:.1%}"))


def _index_html(manifest: dict, pb: "Playbook", lang: str) -> str:
    """The run's front page in ``lang``: each team's name, status, headline figures and
    compliance alerts, with a link to its page and the reason when it failed."""
    def t(key: str) -> str:
        return html.escape(pb.text(f"index.{key}", lang))

    def cell(v: Any, fmt: str) -> str:
        return "n/a" if v is None else html.escape(fmt.format(v))

    from .reasons import currency_label

    unit = currency_label(pb, lang, manifest.get("currency"))
    money = f"（{unit}）" if lang == "zh" else f" ({unit})"
    heads = "".join(f"<th class='num'>{html.escape(pb.text(f'kpi.{k}', lang) + (money if k == 'collected' else ''))}</th>"
                    for k, _ in HEADLINE)
    rows = []
    for team in manifest["teams"]:
        ok = team["status"] == "ok"
        name = html.escape(team.get("name") or team["team"])
        link = f"<a href='{html.escape(team['team'])}.html'>{name}</a>" if ok else name
        figures = "".join(f"<td class='num'>{cell((team.get('headline') or {}).get(k), fmt)}</td>" for k, fmt in HEADLINE)
        rows.append(f"<tr><td>{link}</td><td class='{'ok' if ok else 'failed'}'>{t('ok' if ok else 'failed')}</td>"
                    f"{figures}<td class='num'>{cell(team.get('alerts'), '{:,}')}</td>"
                    f"<td>{html.escape(team.get('error') or '')}</td></tr>")
    rows += _alert_rows(manifest, pb, lang, len(HEADLINE))
    missing = "".join(f"<p>{html.escape(pb.text(f'missing.{m}', lang))}</p>" for m in manifest.get("missing_tables", []))
    missing += "".join(f"<p class='warn'>⚠ {html.escape(w)}</p>" for w in manifest.get("warnings", []))
    failure = f"<p class='failed'>{html.escape(manifest['error'])}</p>" if manifest.get("error") else ""
    title = f"{pb.text('index.title', lang)} {manifest['as_of']}"
    return (f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            "<style>body{font-family:'Noto Sans CJK SC',sans-serif;margin:24px}td,th{padding:4px 10px;"
            "border-bottom:1px solid #ddd;text-align:left}.num{text-align:right}.ok{color:green}.failed{color:#b00}"
            ".meta{color:#666;font-size:.85em}</style></head><body>"
            f"<h1>{html.escape(title)}</h1>{failure}{missing}"
            f"<table><tr><th>{t('team')}</th><th>{t('status')}</th>{heads}<th class='num'>{t('alerts')}</th>"
            f"<th>{t('error')}</th></tr>{''.join(rows)}</table>"
            f"<p class='meta'>{t('period')} · {t('data')} sha256 {html.escape(manifest['data_sha256'][:16])}… · "
            f"{t('version')} {html.escape(manifest['playbook_version'])}</p></body></html>")


def _alert_rows(manifest: dict, pb: "Playbook", lang: str, figures: int) -> list[str]:
    """The index's rows under the teams: the violations on accounts in no team's queue, those
    of the teams not in this run (``--teams``), and the total of the period with its dates, so
    the column adds up to every violation ``playbook compliance`` finds in those days."""
    a = manifest.get("alerts")
    if not a or a.get("total") is None:
        return []
    def t(key: str) -> str:
        return html.escape(pb.text(f"index.{key}", lang))

    blank = "<td></td>" * (figures + 1)
    shown = sum(int(team.get("alerts") or 0) for team in manifest["teams"])
    lines = [(t("no_queue"), int(a.get("no_queue") or 0))]
    others = int(a["total"]) - shown - int(a.get("no_queue") or 0)
    if others:
        lines.append((t("not_run"), others))
    window = pb.text("index.alerts_window", lang).format(since=a["since"], until=a["until"], zone=a["timezone"])
    lines.append((f"{t('total')}（{html.escape(window)}）" if lang == "zh" else f"{t('total')} ({html.escape(window)})",
                  int(a["total"])))
    return [f"<tr class='alerts-{i}'><td>{label}</td>{blank}<td class='num'>{n:,}</td><td></td></tr>"
            for i, (label, n) in enumerate(lines)]


def check_writable(out: Path) -> None:
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
                  now: str | None = None, roster: str | Path | None = None, engine: str = "pandas",
                  scheduler: str | None = None, log=print) -> dict:  # noqa: ANN001
    """Produce one briefing per team under ``out/<as_of>/``; returns the manifest.

    Everything is checked before any kernel starts (the data against the contract, the
    pack, the teams, ``top_n``, the template and whether ``out`` is writable): bad input
    raises a :class:`~playbook.errors.PlaybookError` with exit code 2 and writes nothing.
    Once runs start, ``manifest.json`` and ``index.html`` are always written, also when
    teams (or the shared preparation) fail. ``overrides`` gives extra notebook parameters
    per team (e.g. ``{"care": {"top_n": 50}}``). ``now`` is the moment contact headroom is
    planned from (default 09:00 on the as-of day, business time zone); ``roster`` a CSV of
    ``team, collector, minutes`` replacing the collectors of ``teams.yaml``.

    ``data`` may be an account-partitioned dataset (``playbook partition``): the shared
    preparation then runs per partition (:func:`playbook.distributed.prepare_briefings`)
    on ``engine`` (``"dask"``: a local cluster, or the one at ``scheduler``), and the
    parent never holds the whole portfolio.
    """
    from .briefing import prepare
    from .compliance import get_pack, zone_warning
    from .errors import ArgumentError
    from .loading import load_portfolio
    from .partitioned import is_partitioned, open_dataset
    from .portfolio import stale_warning
    from .prepared import Prepared
    from .sql import is_database_source, redact

    day = check_date("as_of", as_of)
    check_choice("lang", lang, ("zh", "en"))
    jobs = check_positive_int("jobs", jobs)
    check_choice("engine", engine, ("pandas", "dask"))
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
    check_writable(out_dir)
    if now is not None:
        import pandas as pd

        try:
            pd.Timestamp(now)
        except (ValueError, TypeError):
            raise ArgumentError("now", now, "a time such as '2026-11-29 09:00'") from None
    if roster is not None and not Path(roster).is_file():
        raise SourceError(str(roster), "roster file not found")
    ds = open_dataset(data) if not isinstance(data, Portfolio) and is_partitioned(data) else None
    if ds is not None and mapping is not None:
        raise ArgumentError("mapping", str(mapping), "left out: a partitioned dataset is already in the data contract")
    if ds is None and engine == "dask":
        raise ArgumentError("engine", "dask", f"a partitioned dataset as data ({data} is not one); write one "
                                              f"with `playbook partition {data} --out DIR`")
    if ds is None:
        # a database mapping's queries read the feature window (the longest a briefing counts over)
        window = max(int(Prepared.window_days), int(pb.settings.lost_after_days))
        pf = data if isinstance(data, Portfolio) else load_portfolio(data, mapping, playbook=pb, as_of=day,
                                                                     window_days=window)
        missing, zone, digest, currency = pf.missing, pf.timezone, pf.sha256, pf.currency or pb.currency
    else:
        missing, zone, digest, currency = ds.missing, ds.timezone, ds.sha256, pb.currency
    for table in missing:
        log(f"note: {pb.text(f'missing.{table}', 'en')}")
    stale = stale_warning(pf, day, "en", pb) if ds is None else None
    if stale:
        log(f"warning: {stale}")
    pack_warning = zone_warning(pack, zone, lang, pb)
    if pack_warning:
        log(f"warning: {pack_warning}")
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    prepared = out_dir / ".prepared"
    for stale in (prepared / "provenance.json", prepared / "prepare_failed.txt"):
        stale.unlink(missing_ok=True)
    where = "(portfolio)" if isinstance(data, Portfolio) else (
        str(Path(data).resolve()) if not is_database_source(data) else redact(data))  # never a password
    base = {"data_path": where, "as_of": str(day.date()), "lang": lang, "out_dir": str(out_dir.resolve()),
            "top_n": top_n, "interactive": False, "prepared": str(prepared.resolve()), "pack": pack,
            "wait_prepared": 900, "roster": str(Path(roster).resolve()) if roster else None}
    params = {t: {**base, "team": t, **dict((overrides or {}).get(t, {}))} for t in names}
    failure: list[str] = []

    def prepare_now() -> None:
        # runs while the first kernels start; the notebooks wait for provenance.json
        most = max(int(p.get("top_n", top_n)) for p in params.values())
        langs = tuple(sorted({str(p.get("lang", lang)) for p in params.values()}))
        try:
            if ds is None:
                prepare(pf, day, prepared, pack=pack, now=now, top_n=most, langs=langs, playbook=pb)
            else:
                from .distributed import prepare_briefings

                prepare_briefings(ds, day, prepared, pack=pack, now=now, top_n=most, langs=langs, engine=engine,
                                  scheduler=scheduler)
            log(f"prepared the portfolio in {time.perf_counter() - t0:.1f}s; running {len(names)} team(s) with {jobs} job(s)")
        except Exception as exc:  # noqa: BLE001 - reported in every team's result and the manifest
            prepared.mkdir(parents=True, exist_ok=True)
            write_text_atomic(prepared / "prepare_failed.txt", f"{type(exc).__name__}: {exc}")
            failure.append(f"preparing the portfolio failed: {type(exc).__name__}: {exc}")

    titles = {t: f"{pb.text('briefing.title', lang)}: {pb.dimension('team').category(t).name(lang)} · {day.date()}"
              for t in names}
    results = run_pool(template, out_dir, params, jobs=jobs, titles=titles, log=log, while_running=prepare_now)
    import pandas as pd

    team_sizes = pd.Series(dtype="int64")
    headline: dict[str, dict] = {t: {} for t in names}
    alerts: dict[str, int | None] = {t: None for t in names}
    summary: dict = {}
    if not failure:
        summary = json.loads((prepared / "provenance.json").read_text(encoding="utf-8")).get("alerts") or {}
        queued = pd.read_parquet(prepared / "segments.parquet", columns=["team", "worked"])
        team_sizes = queued.loc[queued["worked"], "team"].astype(str).value_counts()
        k = pd.read_parquet(prepared / "kpis.parquet").set_index("team")
        for t in names:
            row = k.loc[t] if t in k.index else pd.Series(dtype=float)
            headline[t] = {key: (None if pd.isna(row.get(key, float("nan"))) else float(row.get(key)))
                           for key, _ in HEADLINE}
            headline[t]["accounts"] = int(team_sizes.get(t, 0))
            alerts[t] = (None if "interactions" in missing else  # nothing was checked: no verdict, not 0
                         len(pd.read_parquet(prepared / "teams" / t / "violations.parquet", columns=["rule"])))
    manifest = {
        "as_of": str(day.date()), "data": str(where), "data_sha256": digest,
        "playbook_version": __version__, "content_sha256": pb.content_sha256, "lang": lang, "pack": pack,
        "seconds": round(time.perf_counter() - t0, 2), "missing_tables": list(missing),
        "warnings": [pack_warning] if pack_warning else [],
        "currency": currency, "engine": engine,
        "error": failure[0] if failure else None,
        # every violation of the period: on a team's row or on the "accounts in no queue" line
        "alerts": None if failure or "interactions" in missing else {
            "since": summary.get("since"), "until": summary.get("until"), "timezone": summary.get("timezone"),
            "total": summary.get("total"), "no_queue": summary.get("no_queue")},
        "teams": [{"team": t, "name": pb.dimension("team").category(t).name(lang), "status": results[t]["status"],
                   "seconds": results[t]["seconds"], "headline": headline[t], "alerts": alerts[t],
                   "accounts": int(team_sizes.get(t, 0)), "data_sha256": digest,
                   "playbook_version": __version__, "parameters": params[t],
                   "error": (failure[0] if failure else None) or results[t]["error"],
                   "warnings": results[t].get("warnings", [])}
                  for t in names],
    }
    write_json_atomic(out_dir / "manifest.json", manifest)
    write_text_atomic(out_dir / "index.html", _index_html(manifest, pb, lang))
    return manifest
