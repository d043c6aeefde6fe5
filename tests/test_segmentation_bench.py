"""The accuracy benchmark's own arithmetic (bench/cases_types.py): the scale-free ceiling's
density and the feasible / met verdicts of its table, recomputed by hand."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal, norm

from bench.cases_types import _log_ratio_density, _table, feasibility


def test_ratio_density_is_the_bivariate_normal_of_the_log_ratios():
    """Income against balance and against external debts share the income's noise: their
    joint density, compared between two incomes' means, is the bivariate normal's."""
    r_bal, r_ext = np.array([0.3, -1.2, 0.8]), np.array([-0.5, np.nan, 0.1])
    mu_a, mu_b = np.full(3, 9.0), np.full(3, 9.5)
    got = _log_ratio_density(r_bal, r_ext, mu_a) - _log_ratio_density(r_bal, r_ext, mu_b)
    cov = [[0.45 ** 2 + 0.9 ** 2, 0.45 ** 2], [0.45 ** 2, 0.45 ** 2 + 1.0 ** 2]]
    for i in (0, 2):  # both ratios known
        want = (multivariate_normal([mu_a[i] - 9.3, mu_a[i] - 10], cov).logpdf([r_bal[i], r_ext[i]])
                - multivariate_normal([mu_b[i] - 9.3, mu_b[i] - 10], cov).logpdf([r_bal[i], r_ext[i]]))
        assert got[i] == pytest.approx(want)
    sd = np.sqrt(0.45 ** 2 + 0.9 ** 2)  # no external debts: the balance ratio alone
    assert got[1] == pytest.approx(norm(mu_a[1] - 9.3, sd).logpdf(r_bal[1]) - norm(mu_b[1] - 9.3, sd).logpdf(r_bal[1]))
    assert _log_ratio_density(np.array([np.nan]), np.array([0.2]), np.array([9.0]))[0] == 0.0  # income unknown


def _ceiling(macro: float, worst: float, free_macro: float, free_worst: float) -> dict:
    return {"macro_recall": macro, "min_recall": worst, "worst_type": "defiant",
            "macro_recall_scale_free": free_macro, "min_recall_scale_free": free_worst, "worst_type_scale_free": "defiant"}


@pytest.mark.parametrize("row, met, feasible, free", [
    ({"macro_recall": 0.80, "min_recall": 0.65}, True, "yes (met)", "yes (met)"),  # no ceiling, met
    ({"macro_recall": 0.74, "min_recall": 0.65}, False, "unknown", "unknown"),  # no ceiling, not met
    ({"macro_recall": 0.70, "min_recall": 0.50, "ceiling": _ceiling(0.77, 0.71, 0.76, 0.69)}, False, "yes", "yes"),
    ({"macro_recall": 0.55, "min_recall": 0.30, "ceiling": _ceiling(0.62, 0.55, 0.61, 0.50)}, False, "no", "no"),
    # the macro ceiling reaches 0.75 but a type's ceiling is below 0.6: not feasible
    ({"macro_recall": 0.70, "min_recall": 0.50, "ceiling": _ceiling(0.76, 0.59, 0.75, 0.61)}, False, "no", "yes"),
    ({"macro_recall": 0.75, "min_recall": 0.60, "ceiling": _ceiling(0.80, 0.70, 0.74, 0.70)}, True, "yes", "no"),
])
def test_feasible_and_met_say_what_the_ceiling_and_recall_say(row, met, feasible, free):
    v = feasibility(row)
    assert v == {"meets_target": met, "feasible": feasible, "feasible_scale_free": free}
    line = _table({"s": {**row, "worst_type": "defiant", **v}}).splitlines()[2]
    assert line.endswith(f"{feasible:9s} {free:10s} {'yes' if met else 'no'}"), line
