"""Sub-commands of the ``playbook`` CLI that live in their own module.

Each module in this package defines

- ``NAME``: the command name;
- ``add_parser(sub)``: adds its sub-parser (``sub`` is argparse's sub-parsers object);
- ``run(args) -> int``: runs the command and returns the exit code.

``playbook.cli`` finds the modules here when it builds its parser; it imports nothing
else from them. The help texts and the loader below are shared by every command,
so the options read the same everywhere.
"""

from __future__ import annotations

import argparse
import sys

LANG = "en"  # the one default language of every command (README, "Commands")
DATA_HELP = ("the portfolio: a folder of accounts/interactions/payments/history files (.parquet, .csv, .xlsx), "
             "one .xlsx with a sheet per table, a DuckDB file or an SQLAlchemy URL")
MAPPING_HELP = "a mapping YAML that describes a foreign export (files, columns, codes); default: the data contract"
LANG_HELP = f"language of labels and texts: zh or en (default: {LANG})"
PACK_HELP = "compliance rule pack: cn (China), us (Regulation F) or uk (CONC 7) (default: %(default)s)"
JSON_HELP = "print JSON with full precision instead of tables"


def load(a: argparse.Namespace, *, notes: bool = True):  # noqa: ANN201 - a Portfolio, imported lazily
    """Load ``a.data`` (with ``a.mapping``); print one note per missing table, saying what cannot be computed."""
    from ..content import load_playbook
    from ..loading import load_portfolio

    pf = load_portfolio(a.data, getattr(a, "mapping", None))
    if notes:
        pb = load_playbook()
        for table in pf.missing:
            print(f"note: {pb.text(f'missing.{table}', getattr(a, 'lang', None) or 'en')}", file=sys.stderr)
    return pf
