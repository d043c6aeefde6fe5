"""Shared parameter text for numpydoc docstrings (seaborn's ``_docstrings`` pattern).

Write ``{portfolio}``, ``{as_of}``, ``{playbook}``, ``{lang}``, ``{pack}`` or ``{currency}`` on a line of
its own in a docstring's Parameters section and decorate the function with
:func:`share_docs`; the placeholder becomes the one shared description.
"""

from __future__ import annotations

import re
import textwrap
from typing import Callable, TypeVar

F = TypeVar("F", bound=Callable)

PARAMS = {
    "portfolio": """\
portfolio : Portfolio or Prepared
    The canonical tables (:func:`playbook.load_portfolio`, :func:`playbook.demo_portfolio`),
    or a bundle prepared once for this as-of day (:func:`playbook.prepare`), whose
    features, promise states and compliance events are then reused, not recomputed.""",
    "as_of": """\
as_of : date-like
    The day the figures are as of: events up to the end of this day, in the business time
    zone (``settings.yaml``, or the mapping's ``timezone``), count.""",
    "playbook": """\
playbook : Playbook, optional
    The playbook content; defaults to the shipped one (:func:`playbook.load_playbook`,
    read once and cached).""",
    "lang": """\
lang : {"zh", "en"}
    Language of every text a person reads.""",
    "currency": """\
currency : str, optional
    The ISO code the amounts are in (``Portfolio.currency``); by default the playbook's.""",
    "pack": """\
pack : str or Pack
    The compliance rule pack: ``"cn"``, ``"us"``, ``"uk"``, or a pack tightened with
    :func:`playbook.compliance.tighten`.""",
}

_TOKEN = re.compile(r"^(?P<indent>[ \t]*)\{(?P<key>" + "|".join(PARAMS) + r")\}[ \t]*$", re.MULTILINE)


def share_docs(func: F) -> F:
    """Replace shared-parameter placeholders in ``func.__doc__`` (indentation kept)."""
    if func.__doc__:
        func.__doc__ = _TOKEN.sub(lambda m: textwrap.indent(PARAMS[m["key"]], m["indent"]), func.__doc__)
    return func
