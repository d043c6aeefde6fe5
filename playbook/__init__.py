"""Collections strategy playbook and notebook workbench.

Public entry points are imported lazily so that ``import playbook`` does no work.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_playbook": "playbook.content",
    "Playbook": "playbook.content",
    "load_portfolio": "playbook.loading",
    "Portfolio": "playbook.portfolio",
    "demo_portfolio": "playbook.demo",
    "segment": "playbook.segmentation",
    "derive_features": "playbook.features",
    "prepare": "playbook.prepared",
    "Prepared": "playbook.prepared",
    "check_compliance": "playbook.compliance",
    "headroom": "playbook.compliance",
    "strategy_verdict": "playbook.compliance",
    "simulate": "playbook.whatif",
    "PlaybookError": "playbook.errors",
}

_SUBMODULES = ("errors", "schema", "portfolio", "arrays", "expressions", "content", "readers", "coercion", "loading",
               "datasets", "demo", "features", "strategy", "prepared", "segmentation", "compliance", "metrics",
               "whatif", "briefing", "plots", "runner", "masking", "atomic", "cli")

__all__ = sorted(_EXPORTS) + list(_SUBMODULES) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    if name in _SUBMODULES:
        return import_module(f"playbook.{name}")
    raise AttributeError(f"module 'playbook' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
