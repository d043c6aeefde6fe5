"""``playbook report DATA --as-of D --out DIR``: the monthly analysis report as HTML (papermill)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .analyse import add_common

NAME = "report"


def add_parser(sub: "argparse._SubParsersAction") -> None:
    """Add the ``report`` sub-parser."""
    p = sub.add_parser(NAME, help="the monthly analysis report (HTML) for management",
                       description="Run the monthly analysis notebook with papermill and write "
                                   "OUT/<as-of>/monthly_analysis_<lang>.html: data source, methods, charts, findings "
                                   "by rule and recommendations linked to the playbook's tactics and strategies. "
                                   "No code, no warnings and no personal data in the page.")
    add_common(p)
    p.add_argument("--out", type=Path, default=Path("reports"), help="the reports folder (default: %(default)s)")
    p.add_argument("--draws", type=int, default=300,
                   help="resampled transition matrices for the forecast intervals (default: %(default)s)")


def run(a: argparse.Namespace) -> int:
    """Write the report; exit 1 when the notebook failed (the page then says why)."""
    from ..report import run_report

    res = run_report(a.data, a.as_of, out=a.out, lang=a.lang, mapping=a.mapping, dataset=a.dataset,
                     currency=a.currency, draws=a.draws, log=lambda m: print(m, file=sys.stderr))
    print(f"{res['status']}: {res['html']} ({len(res['findings'])} findings, {res['seconds']}s)")
    for w in res["warnings"]:
        print(f"warning: {w}", file=sys.stderr)
    if res["error"]:
        print(f"error: {res['error']}", file=sys.stderr)
    return 0 if res["status"] == "ok" else 1
