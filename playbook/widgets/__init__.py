"""ipywidgets apps for JupyterLab and Voilà. Each is a class whose logic is plain Python,
so tests can set a widget's value and check the output model without a browser."""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {"PortfolioExplorer": "playbook.widgets.explorer", "WhatIfApp": "playbook.widgets.whatif_app",
            "CaseTrainer": "playbook.widgets.trainer", "load_or_demo": "playbook.widgets.common"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(name)
