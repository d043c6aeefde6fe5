"""Learning from champion/challenger tests: Bayesian updates of the stated treatment effects.

Each effect in ``response.yaml`` multiplies one response probability (``rpc``, ``ptp``,
``keep``, ``full``) or the promised ``share``. The what-if engine treats ``log(effect)`` as
normal: the shipped value is the prior mean and its sd is
:data:`playbook.whatif.EFFECT_SD_LOG` (a factor of about x/÷ 1.5 at 90%) until a test
narrows it.

A test whose challenger differs from the champion by one element (say ``payday_aligned``)
and whose outcome is the rate that element multiplies (say promises kept per promise made,
for ``keep``) observes that factor as ``challenger mean / champion mean``, with the standard
error of its logarithm by the delta method::

    se_log^2 = sd_ch^2 / (n_ch mean_ch^2) + sd_cp^2 / (n_cp mean_cp^2)

The update is normal-normal on the log scale::

    precision = 1 / sd_prior^2 + 1 / se_log^2
    mean      = (log prior / sd_prior^2 + log observed / se_log^2) / precision

:func:`learn` applies the results files of :func:`playbook.whatif.analyze_test` in order
and returns a new response version; :func:`write_response` writes it with its provenance
(which test, when, how far each effect moved). The what-if engine reads it with
:func:`playbook.whatif.load_response` and names the version in every result.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from statistics import NormalDist
from typing import Any, Sequence

import pandas as pd
import yaml

from .content import Playbook, ResponsePriors
from .errors import ArgumentError, ContentError, UnknownKeyError
from .whatif import EFFECT_SD_LOG, RESULT_PARAMS, ResponseVersion, load_response, read_yaml_file

__all__ = ["read_results", "update_effect", "learn", "write_response"]

_REQUIRED = ("test", "effect", "param", "champion_mean", "challenger_mean", "champion_sd", "challenger_sd",
             "n_champion", "n_challenger")
_Z90 = NormalDist().inv_cdf(0.95)


def read_results(path: str | Path) -> dict:
    """A results file written by :func:`playbook.whatif.analyze_test` (``out=``), checked.

    Raises
    ------
    ContentError
        The file cannot be read, or a field is missing or out of range (naming file and field).
    """
    p = Path(path)
    data, raw = read_yaml_file(p, "test results")
    if not isinstance(raw, dict):
        raise ContentError([(str(p), "(file)", "-", "not a test results file (a mapping written by analyze_test)")])
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise ContentError([(str(p), "results", k, "Field required") for k in missing])
    problems = []
    if raw["param"] not in RESULT_PARAMS:
        problems.append((str(p), "results", "param", f"one of {', '.join(RESULT_PARAMS)}, got {raw['param']!r}"))
    for k in ("champion_mean", "challenger_mean"):
        if not _num(raw[k]) or not raw[k] > 0:
            problems.append((str(p), "results", k, f"a positive number (a rate the effect multiplies), got {raw[k]!r}"))
    for k in ("champion_sd", "challenger_sd"):
        if not _num(raw[k]) or raw[k] < 0:
            problems.append((str(p), "results", k, f"a non-negative number, got {raw[k]!r}"))
    for k in ("n_champion", "n_challenger"):
        if not isinstance(raw[k], int) or isinstance(raw[k], bool) or raw[k] < 2:
            problems.append((str(p), "results", k, f"a whole number >= 2, got {raw[k]!r}"))
    if problems:
        raise ContentError(problems)
    return {**raw, "results_file": str(p), "results_sha256": hashlib.sha256(data).hexdigest()}


def _num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _interval(mu: float, sd: float) -> dict[str, float]:
    return {"factor": round(math.exp(mu), 9), "sd_log": round(sd, 9),
            "p05": round(math.exp(mu - _Z90 * sd), 9), "p95": round(math.exp(mu + _Z90 * sd), 9)}


def update_effect(prior_factor: float, prior_sd_log: float, result: dict) -> dict[str, Any]:
    """One normal-normal update of ``log(effect)`` with one test result.

    Parameters
    ----------
    prior_factor, prior_sd_log : float
        The effect before the test and the sd of its logarithm.
    result : dict
        A checked results file (:func:`read_results`).

    Returns
    -------
    dict
        ``prior``, ``observed`` (``factor`` and ``se_log``) and ``posterior``, each factor
        with its 90% interval; ``moved`` = posterior / prior - 1.
    """
    if not prior_factor > 0 or not prior_sd_log > 0:
        raise ArgumentError("prior", (prior_factor, prior_sd_log), "a positive factor and a positive sd")
    m0, m1 = float(result["champion_mean"]), float(result["challenger_mean"])
    se2 = (float(result["challenger_sd"]) ** 2 / (int(result["n_challenger"]) * m1 ** 2)
           + float(result["champion_sd"]) ** 2 / (int(result["n_champion"]) * m0 ** 2))
    se2 = max(se2, 1e-12)  # an outcome without spread still carries finite information
    obs = math.log(m1 / m0)
    mu0 = math.log(prior_factor)
    prec = 1 / prior_sd_log ** 2 + 1 / se2
    mu = (mu0 / prior_sd_log ** 2 + obs / se2) / prec
    sd = 1 / math.sqrt(prec)
    return {"prior": _interval(mu0, prior_sd_log), "observed": {"factor": round(m1 / m0, 6), "se_log": round(math.sqrt(se2), 6)},
            "posterior": _interval(mu, sd), "moved": round(math.exp(mu) / prior_factor - 1, 6)}


def learn(results: Sequence[str | Path | dict], *, response: ResponseVersion | str | Path | None = None,
          playbook: Playbook | None = None) -> tuple[ResponseVersion, list[dict]]:
    """Update the response version's effects with champion/challenger results, in order.

    Parameters
    ----------
    results : sequence of paths or dicts
        Results files of :func:`playbook.whatif.analyze_test` (or their checked contents).
    response : ResponseVersion, str or Path, optional
        The version to start from (default: the shipped ``response.yaml``, v1).
    playbook : Playbook, optional
        The content; defaults to :func:`playbook.load_playbook`.

    Returns
    -------
    (ResponseVersion, list of dict)
        The new version (``version`` one higher, ``path`` and ``sha256`` empty until
        :func:`write_response`), and one provenance entry per result.
    """
    base = response if isinstance(response, ResponseVersion) else load_response(response, playbook=playbook)
    if not results:
        raise ArgumentError("results", "none", "at least one results file")
    effects = {k: dict(v.multiply) for k, v in base.priors.effects.items()}
    unc = {k: dict(v) for k, v in base.uncertainty.items()}
    learned_at = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
    entries = []
    for r in results:
        res = r if isinstance(r, dict) else read_results(r)
        eff, par = res["effect"], res["param"]
        if eff not in effects:
            raise UnknownKeyError("treatment effect in the response version", eff, effects)
        prior = float(effects[eff].get(par, 1.0))
        sd = float(unc.get(eff, {}).get(par, EFFECT_SD_LOG))
        u = update_effect(prior, sd, res)
        effects[eff][par] = u["posterior"]["factor"]
        unc.setdefault(eff, {})[par] = u["posterior"]["sd_log"]
        entries.append({"test": str(res["test"]), "analysed_at": str(res.get("analysed_at", "")), "learned_at": learned_at,
                        "results_file": str(res.get("results_file", "")), "results_sha256": res.get("results_sha256", ""),
                        "effect": eff, "param": par, "outcome": str(res.get("outcome", "")),
                        "n_champion": int(res["n_champion"]), "n_challenger": int(res["n_challenger"]),
                        "from_version": base.version, **u})
    raw = base.priors.model_dump(mode="json")
    for k, mult in effects.items():
        raw["effects"][k]["multiply"] = mult
    try:
        priors = ResponsePriors.model_validate(raw)
    except Exception as exc:  # an updated factor the model refuses: report, never write
        raise ContentError([("(learned response)", "effects", "-", str(exc))]) from None
    new = ResponseVersion(priors, base.version + 1, "", "", unc, [*base.provenance, *entries])
    return new, entries


def write_response(version: ResponseVersion, out: str | Path, *, parent: ResponseVersion | None = None) -> ResponseVersion:
    """Write ``version`` as a versioned response file; return it with its path and sha256.

    The file holds ``version``, ``parent`` (version, sha256 and path of the version it was
    learned from), ``created``, ``provenance``, ``uncertainty`` and ``response`` (the fields
    of ``response.yaml``). Written atomically; the source tree is never written unless
    ``out`` points there.
    """
    from .atomic import write_text_atomic

    body = {"version": version.version,
            "parent": ({"version": parent.version, "sha256": parent.sha256, "path": parent.path} if parent else None),
            "created": pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"),
            "provenance": version.provenance, "uncertainty": version.uncertainty,
            "response": version.priors.model_dump(mode="json")}
    text = ("# A versioned response file written by `playbook learn`: the response model's priors and\n"
            "# effects after Bayesian updates with champion/challenger results (see provenance).\n"
            + yaml.safe_dump(body, sort_keys=False, allow_unicode=True))
    out = Path(out)
    write_text_atomic(out, text)
    return ResponseVersion(version.priors, version.version, hashlib.sha256(text.encode("utf-8")).hexdigest(), str(out),
                           version.uncertainty, version.provenance)
