"""Account-partitioned portfolios: the four tables as Parquet datasets split by ``account_id``.

A portfolio too large for one process is stored as one Parquet dataset per table, each
split into the same number of partitions by a hash of ``account_id``, so every table's
rows of one account sit in the same partition number::

    DIR/_dataset.json                 partitions, hash, time zone, row counts, load report
    DIR/accounts/part-00000.parquet   ... part-<N-1>.parquet
    DIR/interactions/part-00000.parquet
    DIR/payments/part-00000.parquet
    DIR/history/part-00000.parquet
    DIR/truth/part-00000.parquet      (demo data only: each account's hidden type)

Every part file holds the table's canonical columns plus ``_pos``, the row's position in
the whole table (the source's order), so per-partition results can be put back in the
order the single-machine path gives. One partition read with :func:`read_partition` is an
ordinary :class:`~playbook.portfolio.Portfolio`; every single-machine function runs on it
unchanged, and :mod:`playbook.distributed` maps them over the partitions.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from ._checks import check_date, check_positive_int
from .arrays import codes_of
from .content import load_playbook
from .demo import demo_portfolio
from .errors import ArgumentError, SourceError
from .portfolio import LoadReport, Portfolio, errors_frame
from .schema import TABLES

__all__ = ["DATASET_FILE", "PartitionedDataset", "PartitionPortfolio", "partition_of", "is_partitioned",
           "open_dataset", "write_partitioned", "read_partition", "read_positions", "write_demo_partitioned",
           "chunk_seed", "DEMO_CHUNK"]

DATASET_FILE = "_dataset.json"
FORMAT = "playbook-partitioned/1"
HASH = "pandas.util.hash_array(account_id as text) mod partitions"
POS = "_pos"
#: accounts generated at a time by :func:`write_demo_partitioned` (about 1.4 GiB peak each)
DEMO_CHUNK = 100_000


def partition_of(account_ids: pd.Series | np.ndarray, partitions: int) -> np.ndarray:
    """The partition number (0 to ``partitions - 1``) of each account id.

    A stable hash of the id's text (pandas' SipHash with its fixed key), the same in every
    process and on every machine, so child tables land beside their account.
    """
    n = check_positive_int("partitions", partitions)
    ids = np.asarray(pd.Series(account_ids).astype(str).to_numpy(), dtype=object)
    return (pd.util.hash_array(ids, categorize=True) % np.uint64(n)).astype(np.int64)


@dataclass(frozen=True)
class PartitionedDataset:
    """An account-partitioned portfolio on disk (read it with :func:`open_dataset`).

    Attributes
    ----------
    path : Path
        The dataset folder.
    partitions : int
        Number of partitions.
    timezone : str or None
        The business time zone of the portfolio (as :attr:`Portfolio.timezone`).
    rows : dict
        Rows per table over all partitions.
    missing : tuple of str
        Tables other than accounts with no rows in the whole dataset: a partition without
        rows of a table that the dataset has is not "missing" (its figures are 0, not n/a).
    report : LoadReport
        The load report of the source it was written from (``demo-data``: the generated counts).
    sources : dict
        The digests of the source files (data provenance).
    has_truth : bool
        Whether a ``truth`` dataset (demo data) is stored beside the tables.
    currency : str or None
        The ISO code the amounts are in (as :attr:`Portfolio.currency`; ``None``: the playbook's).
    """

    path: Path
    partitions: int
    timezone: str | None
    rows: dict[str, int]
    report: LoadReport
    sources: dict[str, str] = field(default_factory=dict)
    has_truth: bool = False
    currency: str | None = None

    @property
    def missing(self) -> tuple[str, ...]:
        """Tables other than accounts with no rows in any partition."""
        return tuple(t for t in TABLES[1:] if self.rows.get(t, 0) == 0)

    @property
    def sha256(self) -> str:
        """One digest over the source files' digests, as :attr:`Portfolio.sha256` of the same sources."""
        return Portfolio(*(pd.DataFrame() for _ in TABLES), sources=dict(self.sources)).sha256

    def part_file(self, table: str, index: int) -> Path:
        """The Parquet file of ``table`` in partition ``index``."""
        return self.path / table / f"part-{index:05d}.parquet"

    @property
    def accounts(self) -> int:
        """Accounts over all partitions."""
        return self.rows["accounts"]


class PartitionPortfolio(Portfolio):
    """One partition of a :class:`PartitionedDataset`, as an ordinary portfolio.

    The only difference: :attr:`missing` names the tables the *dataset* lacks, so a
    partition that happens to hold no payments still counts its promises as broken
    instead of reporting n/a.
    """

    dataset_missing: tuple[str, ...] = ()

    @property
    def missing(self) -> tuple[str, ...]:
        """Tables missing in the whole dataset (see the class docstring)."""
        return self.dataset_missing


def is_partitioned(path: str | Path) -> bool:
    """True when ``path`` is a folder written by :func:`write_partitioned` or ``demo-data --partitions``."""
    try:
        return (Path(path) / DATASET_FILE).is_file()
    except (TypeError, OSError):
        return False


def _report_dict(report: LoadReport) -> dict:
    return {"source": report.source, "counts": report.counts.to_dict(orient="records"),
            "errors": json.loads(report.errors.to_json(orient="records", force_ascii=False)), "notes": list(report.notes)}


def _report_of(d: dict) -> LoadReport:
    counts = pd.DataFrame(d.get("counts", []), columns=["table", "file", "read", "accepted", "rejected"])
    return LoadReport(d.get("source", ""), counts, errors_frame(d.get("errors") or None), list(d.get("notes", [])))


def open_dataset(path: str | Path) -> PartitionedDataset:
    """Open an account-partitioned dataset and check that every part file is there.

    Raises
    ------
    SourceError
        If ``path`` is not such a dataset, its ``_dataset.json`` cannot be read, or a part
        file is missing or holds a different number of rows than the dataset records.
    """
    path = Path(path)
    meta_file = path / DATASET_FILE
    if not meta_file.is_file():
        raise SourceError(str(path), f"not an account-partitioned dataset (no {DATASET_FILE}); "
                                     "write one with `playbook partition SOURCE --out DIR`")
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise ValueError(f"format {meta.get('format')!r}, expected {FORMAT!r}")
        n = int(meta["partitions"])
        rows = {t: int(meta["rows"][t]) for t in TABLES}
    except (ValueError, KeyError, TypeError) as exc:
        raise SourceError(str(meta_file), f"cannot read the dataset description: {exc}") from None
    ds = PartitionedDataset(path, n, meta.get("timezone"), rows, _report_of(meta.get("report", {})),
                            dict(meta.get("sources", {})), bool(meta.get("truth", False)), meta.get("currency"))
    for t in TABLES:
        found = 0
        for i in range(n):
            f = ds.part_file(t, i)
            if not f.is_file():
                raise SourceError(str(f), f"part file missing: the dataset records {n} partitions of {t}")
            found += pq.ParquetFile(f).metadata.num_rows
        if found != rows[t]:
            raise SourceError(str(path / t), f"{found} rows in the part files, but {DATASET_FILE} records {rows[t]}")
    return ds


def read_partition(dataset: PartitionedDataset | str | Path, index: int) -> PartitionPortfolio:
    """Partition ``index`` of ``dataset`` as a portfolio, rows in the source's order.

    Parameters
    ----------
    dataset : PartitionedDataset, str or Path
        The dataset (a path is opened with :func:`open_dataset`).
    index : int
        0 to ``dataset.partitions - 1``.

    Returns
    -------
    PartitionPortfolio
        The four tables in the canonical dtypes, without ``_pos``; ``truth`` for demo data.
    """
    ds = dataset if isinstance(dataset, PartitionedDataset) else open_dataset(dataset)
    if not isinstance(index, (int, np.integer)) or not 0 <= int(index) < ds.partitions:
        raise ArgumentError("index", index, f"a partition number from 0 to {ds.partitions - 1}")
    frames = {t: _read_part(ds.part_file(t, int(index))) for t in TABLES}
    truth = _read_part(ds.part_file("truth", int(index))) if ds.has_truth else None
    pf = PartitionPortfolio(**frames, report=None, sources=dict(ds.sources), truth=truth, timezone=ds.timezone,
                            currency=ds.currency)
    pf.dataset_missing = ds.missing
    return pf


def _read_part(f: Path) -> pd.DataFrame:
    frame = pd.read_parquet(f)
    if POS in frame:
        pos = frame[POS].to_numpy()
        if len(pos) > 1 and (np.diff(pos) < 0).any():
            frame = frame.iloc[np.argsort(pos, kind="stable")]
        frame = frame.drop(columns=[POS])
    return frame.reset_index(drop=True)


def read_positions(dataset: PartitionedDataset, index: int, table: str) -> np.ndarray:
    """The whole-table positions of the rows of partition ``index`` of ``table``, in the order
    :func:`read_partition` returns them."""
    pos = pq.read_table(dataset.part_file(table, index), columns=[POS]).column(POS).to_numpy()
    return np.sort(pos, kind="stable")


def _write_part(frame: pd.DataFrame, f: Path) -> None:
    f.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(f, index=False)


def _fresh_folder(out: Path) -> Path:
    """A temporary folder beside ``out`` to write into; refuses to replace a folder that
    is not a dataset (so a mistyped ``--out`` never deletes someone's files)."""
    if out.exists() and not (out.is_dir() and (is_partitioned(out) or not any(out.iterdir()))):
        raise ArgumentError("--out", str(out), "a new folder, an empty one, or an existing partitioned dataset "
                                               "(it is replaced)")
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return tmp


def _finish_folder(tmp: Path, out: Path, meta: dict) -> PartitionedDataset:
    (tmp / DATASET_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    if out.exists():
        old = out.with_name(f".{out.name}.{os.getpid()}.old")
        out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(out)
    return open_dataset(out)


def _meta(partitions: int, timezone: str | None, rows: dict, report: LoadReport, sources: dict, truth: bool,
          currency: str | None = None) -> dict:
    return {"format": FORMAT, "key": "account_id", "hash": HASH, "partitions": partitions, "timezone": timezone,
            "currency": currency, "rows": rows, "truth": truth, "sources": sources, "report": _report_dict(report)}


def _split(frame: pd.DataFrame, part: np.ndarray, partitions: int, offset: int = 0) -> Iterator[tuple[int, pd.DataFrame]]:
    """``(partition, rows)`` for every partition, rows in their order, ``_pos`` added."""
    pos = np.arange(offset, offset + len(frame), dtype=np.int64)
    order = np.argsort(part, kind="stable")
    bounds = np.searchsorted(part[order], np.arange(partitions + 1))
    for i in range(partitions):
        take = order[bounds[i]:bounds[i + 1]]
        piece = frame.iloc[take].reset_index(drop=True)
        piece[POS] = pos[take]
        yield i, piece


def write_partitioned(portfolio: Portfolio, out: str | Path, *, partitions: int = 8) -> PartitionedDataset:
    """Write ``portfolio`` as an account-partitioned dataset.

    Parameters
    ----------
    portfolio : Portfolio
        A loaded (validated) portfolio; its load report is kept in ``_dataset.json``.
    out : str or Path
        The dataset folder: new, empty, or an existing dataset (replaced whole, only once
        the new one is complete).
    partitions : int
        Number of partitions (aim for partitions of 100,000 to 1,000,000 accounts).

    Returns
    -------
    PartitionedDataset
        The dataset written, re-opened from disk (every part file checked).
    """
    n = check_positive_int("partitions", partitions)
    out = Path(out)
    tmp = _fresh_folder(out)
    try:
        rows = {}
        for t in TABLES:
            frame = portfolio.tables()[t]
            for i, piece in _split(frame, partition_of(frame["account_id"], n), n):
                _write_part(piece, tmp / t / f"part-{i:05d}.parquet")
            rows[t] = len(frame)
        if portfolio.truth is not None:
            for i, piece in _split(portfolio.truth, partition_of(portfolio.truth["account_id"], n), n):
                _write_part(piece, tmp / "truth" / f"part-{i:05d}.parquet")
        report = portfolio.report or LoadReport("(in memory)", pd.DataFrame(
            [dict(table=t, file="(in memory)", read=rows[t], accepted=rows[t], rejected=0) for t in TABLES]), errors_frame())
        meta = _meta(n, portfolio.timezone, rows, report, dict(portfolio.sources), portfolio.truth is not None,
                     portfolio.currency)
        return _finish_folder(tmp, out, meta)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _renumber(pf: Portfolio, offset: int, width: int) -> dict[str, pd.DataFrame]:
    """The chunk's tables with account ``A<k>`` renamed ``A<offset + k>`` (and customer ``C...``)."""
    local = pf.accounts["account_id"]
    new = np.char.add("A", np.char.zfill(np.arange(offset + 1, offset + len(local) + 1).astype(str), width))
    frames = {}
    for name, frame in (*pf.tables().items(), ("truth", pf.truth)):
        frame = frame.copy()
        frame["account_id"] = pd.array(new[codes_of(frame["account_id"], local)], dtype=frame["account_id"].dtype)
        if name == "accounts" and "customer_id" in frame:
            frame["customer_id"] = pd.array(np.char.replace(new, "A", "C"), dtype=frame["customer_id"].dtype)
        frames[name] = frame
    return frames


def chunk_seed(seed: int, chunk: int) -> int:
    """The generator seed of demo chunk ``chunk``: ``seed`` itself for the first chunk (so a
    dataset of at most one chunk holds exactly ``demo_portfolio(n, seed)``), else one drawn
    from ``numpy.random.SeedSequence([seed, chunk])``."""
    return seed if chunk == 0 else int(np.random.SeedSequence([seed, chunk]).generate_state(1, np.uint64)[0] >> 1)


def write_demo_partitioned(out: str | Path, *, n_accounts: int, seed: int = 0, as_of: str | pd.Timestamp = "2026-11-29",
                           partitions: int = 8, chunk_accounts: int = DEMO_CHUNK,
                           map_chunks: Callable[[Callable, list], list] | None = None) -> PartitionedDataset:
    """Generate a demo portfolio straight into an account-partitioned dataset.

    Accounts are generated ``chunk_accounts`` at a time (chunk ``c`` by
    ``demo_portfolio(size, chunk_seed(seed, c))``, ids renumbered to follow the earlier
    chunks), each chunk split by account hash into per-partition pieces, and the pieces of
    each partition then joined into its part files, so memory is bounded by one chunk or
    one partition, whichever is larger. The output is the same for a seed, and the same
    whatever runs the chunks.

    Parameters
    ----------
    out : str or Path
        The dataset folder (see :func:`write_partitioned`).
    n_accounts : int
        Accounts in total.
    seed : int
        Seed of the first chunk; later chunks' seeds derive from it.
    as_of : date-like
        The snapshot date of every chunk.
    partitions : int
        Number of partitions.
    chunk_accounts : int
        Accounts generated at a time (about 1.4 GiB peak per 100,000).
    map_chunks : callable, optional
        ``map_chunks(fn, items) -> list`` running ``fn`` over the chunk descriptions, e.g. a
        Dask client's ``map`` + ``gather`` (:func:`playbook.distributed.demo_data`); default:
        one after the other in this process.

    Returns
    -------
    PartitionedDataset
    """
    n = check_positive_int("n_accounts", n_accounts)
    seed = check_positive_int("seed", seed, minimum=0)
    day = check_date("as_of", as_of)
    parts = check_positive_int("partitions", partitions)
    size = check_positive_int("chunk_accounts", chunk_accounts)
    out = Path(out)
    tmp = _fresh_folder(out)
    try:
        width = max(7, len(str(n)))
        chunks = [(c, c * size, min(size, n - c * size)) for c in range((n + size - 1) // size)]
        jobs = [dict(folder=str(tmp / ".chunks"), chunk=c, offset=off, size=k, seed=seed, as_of=str(day.date()),
                     partitions=parts, width=width) for c, off, k in chunks]
        run = map_chunks or (lambda fn, items: [fn(x) for x in items])
        results = run(_demo_chunk, jobs)
        results = sorted(results, key=lambda r: r["chunk"])
        offsets = {t: np.cumsum([0] + [r["rows"][t] for r in results]) for t in (*TABLES, "truth")}
        compact = [dict(folder=str(tmp), partition=i, chunks=len(results),
                        offsets={t: [int(x) for x in offsets[t][:-1]] for t in offsets}) for i in range(parts)]
        run(_compact_partition, compact)
        shutil.rmtree(tmp / ".chunks", ignore_errors=True)
        rows = {t: int(offsets[t][-1]) for t in TABLES}
        counts = pd.DataFrame([dict(table=t, file="(generated)", read=rows[t], accepted=rows[t], rejected=0) for t in TABLES])
        report = LoadReport(f"demo(n_accounts={n}, seed={seed}, as_of={day.date()}, partitions={parts}, "
                            f"chunk_accounts={size})", counts, errors_frame())
        tz = load_playbook().timezone
        meta = _meta(parts, tz, rows, report, {"demo": f"n={n};seed={seed};as_of={day.date()};chunk={size}"}, True)
        return _finish_folder(tmp, out, meta)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _demo_chunk(job: dict) -> dict:
    """Generate one chunk and write its per-partition pieces (no ``_pos`` yet)."""
    pf = demo_portfolio(job["size"], chunk_seed(job["seed"], job["chunk"]), job["as_of"])
    frames = _renumber(pf, job["offset"], job["width"])
    del pf
    rows = {}
    for name, frame in frames.items():
        # positions inside the chunk; _compact_partition adds the chunk's offset
        for i, piece in _split(frame, partition_of(frame["account_id"], job["partitions"]), job["partitions"]):
            _write_part(piece, Path(job["folder"]) / f"{name}-{i:05d}" / f"chunk-{job['chunk']:06d}.parquet")
        rows[name] = len(frame)
    return {"chunk": job["chunk"], "rows": rows}


def _compact_partition(job: dict) -> int:
    """Join the chunk pieces of one partition into its part files, positions made whole-table."""
    folder = Path(job["folder"])
    for name in (*TABLES, "truth"):
        pieces = []
        for c in range(job["chunks"]):
            piece = pd.read_parquet(folder / ".chunks" / f"{name}-{job['partition']:05d}" / f"chunk-{c:06d}.parquet")
            piece[POS] = piece[POS] + job["offsets"][name][c]
            pieces.append(piece)
        frame = pd.concat(pieces, ignore_index=True) if len(pieces) > 1 else pieces[0]
        _write_part(frame, folder / name / f"part-{job['partition']:05d}.parquet")
    return job["partition"]
