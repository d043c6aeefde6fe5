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
import math
import sys

LANG = "en"  # the one default language of every command (README, "Commands")
DATA_HELP = ("the portfolio: a folder of accounts/interactions/payments/history files (.parquet, .csv, .xlsx), "
             "one .xlsx with a sheet per table, a DuckDB file, a database URL or env:PLAYBOOK_DB_URL")
MAPPING_HELP = "a mapping YAML that describes a foreign export (files, columns, codes); default: the data contract"
LANG_HELP = f"language of labels and texts: zh or en (default: {LANG})"
PACK_HELP = "compliance rule pack: cn (China), us (Regulation F) or uk (CONC 7) (default: %(default)s)"
JSON_HELP = "print JSON with full precision instead of tables"

def segment_skip() -> dict[str, list[str]]:
    """The optional contract columns ``segment`` never reads, per table: every column of the
    contract less :data:`playbook.segmentation.COLUMNS_READ`. They are not read from the
    files, not checked, not held (``load_portfolio(skip=...)``); ``validate`` checks every column.
    """
    from ..schema import contract
    from ..segmentation import COLUMNS_READ

    skip = {t: [c.name for c in cols if not c.required and c.name not in COLUMNS_READ.get(t, ())]
            for t, cols in contract([]).items()}
    return {t: names for t, names in skip.items() if names}


def window_days(a: argparse.Namespace) -> int | None:
    """The days before the end of ``--as-of`` the command counts events over (``None``: every row).

    A database mapping's queries are bound to it (``:window_start``), so they read only the
    rows the command needs: ``segment`` its ``--window-days``, at least the days after which a
    debtor counts as lost (``lost_after_days`` in settings.yaml, which segmentation's recency
    rule reads); ``kpis`` its window, or the feature window (90 days) when ``--by`` groups
    by a segment dimension; the other commands with an as-of day the feature window;
    ``compliance`` and ``validate`` every row.
    """
    from ..content import load_playbook
    from ..prepared import Prepared

    if getattr(a, "as_of", None) is None or a.command in ("compliance", "validate"):
        return None
    features = int(Prepared.window_days)  # the feature window segmentation and what-if use by default
    # segmentation's contact_recent_rpc rule looks back this far for the last right-party contact
    recency = int(load_playbook().settings.lost_after_days)
    if a.command == "segment":
        return max(int(a.window_days), recency)
    if a.command == "kpis":
        by = getattr(a, "by", None)
        return max(int(a.window_days), features, recency) if by not in (None, "month", "status") else int(a.window_days)
    return max(features, recency)


def load(a: argparse.Namespace, *, notes: bool = True, skip: dict[str, list[str]] | None = None):  # noqa: ANN201
    """Load ``a.data`` (with ``a.mapping``) as a Portfolio; print one note per missing table, saying what
    cannot be computed.

    The command's ``--as-of`` and :func:`window_days` are bound to a database mapping's queries.
    ``skip``: optional contract columns the command does not read (see ``load_portfolio``).
    """
    from ..content import load_playbook
    from ..loading import load_portfolio
    from ..portfolio import stale_warning

    as_of = getattr(a, "as_of", None)
    if as_of is not None:
        from .._checks import check_date

        as_of = check_date("--as-of", as_of)
    pf = load_portfolio(a.data, getattr(a, "mapping", None), as_of=as_of, window_days=window_days(a),
                        skip=skip)
    if notes:
        pb = load_playbook()
        lang = getattr(a, "lang", None) or "en"
        for table in pf.missing:
            print(f"note: {pb.text(f'missing.{table}', lang)}", file=sys.stderr)
        currency = pf.currency or pb.currency
        if math.isnan(pb.settings.rate_of(currency)):  # no rate listed for the book's currency
            print(f"note: {pb.text('missing.rate', lang).format(currency=currency)}", file=sys.stderr)
        stale = stale_warning(pf, as_of, lang, pb) if as_of is not None else None
        if stale:
            print(f"warning: {stale}", file=sys.stderr)
    return pf
