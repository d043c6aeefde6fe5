"""The DuckDB speed reference (bench/reference.py) computes the features playbook computes:
the end-to-end benchmark compares like with like only while this holds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import playbook
from bench.reference import duckdb_features
from playbook.content import load_playbook
from playbook.features import derive_features

pytest.importorskip("duckdb")


@pytest.mark.parametrize("generator", ["demo", "seed"])
def test_reference_query_computes_every_feature_as_playbook_does(generator):
    from playbook.demo_seed import seed_portfolio

    pf = (playbook.demo_portfolio if generator == "demo" else seed_portfolio)(1500, 5, "2026-11-29")
    pb = load_playbook()
    ours = derive_features(pf, "2026-11-29", window_days=90).reset_index(drop=True)
    ref = duckdb_features(pf.accounts, pf.interactions, pf.payments, pf.history, pb, "2026-11-29", 90)
    ref = ref.set_index("account_id").loc[pf.accounts["account_id"]].reset_index()
    assert set(ours.columns) <= set(ref.columns), "features the reference query does not compute"
    for c in ours.columns:
        if ours[c].dtype.kind in "fiu":
            assert np.allclose(ours[c].to_numpy(dtype=float), pd.to_numeric(ref[c]).to_numpy(dtype=float),
                               rtol=1e-9, atol=1e-9, equal_nan=True), c
        else:
            assert (ours[c].astype(str) == ref[c].astype(str)).all(), c
    # the comparison is not vacuous: the demo exercises the promise features, the seed generator
    # the notes and tones
    used = {"demo": ("promises_kept", "promises_broken", "ptp_lead_days", "unanswered_count", "months_delinquent_12m"),
            "seed": ("angry_tone_count", "polite_tone_count", "note_conditional_count", "refuse_count")}[generator]
    for c in used:
        assert ours[c].fillna(0).gt(0).any(), c
