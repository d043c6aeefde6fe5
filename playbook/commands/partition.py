"""``playbook partition SOURCE --out DIR``: a portfolio as an account-partitioned dataset."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import DATA_HELP, MAPPING_HELP

NAME = "partition"


def add_parser(sub: "argparse._SubParsersAction") -> None:
    """Add ``playbook partition``."""
    p = sub.add_parser(NAME, help="write a portfolio as Parquet datasets partitioned by account",
                       description="Load and validate a portfolio (the same report as `playbook validate`) and write "
                                   "the four tables as Parquet datasets hash-partitioned by account_id, every "
                                   "account's rows in the same partition number, for `--engine dask`. Exit 0 when "
                                   "written, 2 when rows were rejected (nothing is written unless --keep-valid).")
    p.add_argument("source", help=DATA_HELP)
    p.add_argument("--out", required=True, type=Path, help="the dataset folder (new, empty, or a dataset to replace)")
    p.add_argument("--partitions", type=int, default=8,
                   help="number of partitions; aim for 100,000 to 1,000,000 accounts each (default: %(default)s)")
    p.add_argument("--mapping", help=MAPPING_HELP)
    p.add_argument("--as-of", help="warn about rows dated after this date (they are kept)")
    p.add_argument("--keep-valid", action="store_true",
                   help="write the accepted rows even when some were rejected (the exit code is still 2)")
    p.add_argument("--all", action="store_true", help="list every problem, not the first 200")


def report_text(report, max_errors: int | None = 200) -> str:  # noqa: ANN001 - a LoadReport
    """The load report as ``playbook validate`` prints it (counts formatted for people)."""
    from ..formatting import fmt_int, render_table

    text = report.to_text(max_errors=max_errors).split("\n")
    table = render_table(["table", "file", "read", "accepted", "rejected"],
                         [[c.table, c.file, fmt_int(c.read), fmt_int(c.accepted), fmt_int(c.rejected)]
                          for c in report.counts.itertuples(index=False)], keys=2)
    n_counts = len(report.counts.to_string(index=False).split("\n"))
    return "\n".join(text[:3] + [table] + text[3 + n_counts:])


def dataset_text(ds) -> str:  # noqa: ANN001 - a PartitionedDataset
    """Rows per table written, summed over the partitions, with the smallest and largest partition."""
    import pyarrow.parquet as pq

    from ..formatting import fmt_int, render_table
    from ..schema import TABLES

    rows = []
    for t in TABLES:
        per = [pq.ParquetFile(ds.part_file(t, i)).metadata.num_rows for i in range(ds.partitions)]
        rows.append([t, fmt_int(sum(per)), fmt_int(min(per)), fmt_int(max(per))])
    head = f"wrote {ds.path}: {fmt_int(ds.partitions)} partitions by hash of account_id"
    return "\n".join([head, "", render_table(["table", "rows (sum of partitions)", "smallest partition",
                                              "largest partition"], rows, keys=1)])


def run(a: argparse.Namespace) -> int:
    """Load, validate, write; the report, then what was written (counts reconcile with the accepted rows)."""
    from ..errors import RunError
    from ..loading import load_portfolio
    from ..partitioned import write_partitioned

    pf = load_portfolio(a.source, a.mapping, on_error="keep_valid", as_of=a.as_of)
    r = pf.report
    print(report_text(r, None if a.all else 200))
    if not r.ok and not a.keep_valid:
        print(f"\nnothing written: {r.rows_rejected} rows rejected (fix them, or --keep-valid to write the "
              f"{r.rows_accepted} accepted rows)")
        return 2
    ds = write_partitioned(pf, a.out, partitions=a.partitions)
    accepted = dict(zip(r.counts["table"], r.counts["accepted"]))
    for t, n in ds.rows.items():
        if t in accepted and int(accepted[t]) != n:  # open_dataset re-counted the part files
            raise RunError("partition", f"{t}: {n} rows written over the partitions, {accepted[t]} accepted")
    print()
    print(dataset_text(ds))
    return 0 if r.ok else 2


ENGINE_HELP = ("pandas (in this process) or dask (a Dask cluster: --scheduler, else $DASK_SCHEDULER_ADDRESS, else a "
               "local cluster sized to the machine); dask needs DATA written by `playbook partition` or "
               "`playbook demo-data --partitions` (default: %(default)s)")
SCHEDULER_HELP = "address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786 (default: $DASK_SCHEDULER_ADDRESS)"


def add_engine_arguments(p: argparse.ArgumentParser) -> None:
    """``--engine`` and ``--scheduler``, as on segment, kpis and compliance."""
    p.add_argument("--engine", choices=["pandas", "dask"], default="pandas", help=ENGINE_HELP)
    p.add_argument("--scheduler", help=SCHEDULER_HELP)


def partitioned_source(a: argparse.Namespace) -> bool:
    """True when ``a.data`` is a partitioned dataset; ``--engine dask`` on anything else is bad input."""
    from ..errors import ArgumentError
    from ..partitioned import is_partitioned

    if is_partitioned(a.data):
        if getattr(a, "mapping", None):
            raise ArgumentError("--mapping", a.mapping, "left out: a partitioned dataset is already in the data contract")
        return True
    if getattr(a, "engine", "pandas") == "dask":
        raise ArgumentError("--engine", "dask", f"a partitioned dataset as DATA ({a.data} is not one); write one "
                                                f"with `playbook partition {a.data} --out DIR`")
    return False
