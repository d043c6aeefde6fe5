from __future__ import annotations

import pandas as pd

from playbook.masking import mask_id, mask_name, mask_phone, mask_pii


def test_masks():
    assert mask_name(pd.Series(["张三丰", "李"])).tolist() == ["张**", "李*"]
    assert mask_phone(pd.Series(["13812345678", "138-1234-5678", "12"])).tolist() == ["138****5678", "138****5678", "**"]
    assert mask_id(pd.Series(["11010119900101123X"])).tolist() == ["1101************3X"]


def test_mask_pii_keeps_missing_values_and_the_input():
    df = pd.DataFrame({"name": ["王五", None], "phone": ["13900001111", None], "balance": [1.0, 2.0]})
    out = mask_pii(df)
    assert out["name"].tolist()[0] == "王*" and pd.isna(out["name"].iloc[1])
    assert df["name"].iloc[0] == "王五"


def test_spreadsheet_exports_neutralise_formula_cells():
    import pandas as pd

    from playbook.masking import neutralise_formulas

    df = pd.DataFrame({"a": ["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "ok", None],
                       "n": [-1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
                       "c": pd.Categorical(["=1", "x", "x", "x", "x", "x"])})
    out = neutralise_formulas(df)
    assert out["a"].tolist()[:5] == ["'=HYPERLINK(\"http://x\")", "'+1", "'-2", "'@SUM(A1)", "ok"]
    assert pd.isna(out["a"].iloc[5])
    assert out["n"].tolist() == df["n"].tolist()
    assert out["c"].tolist()[0] == "'=1"
    assert df["a"].iloc[0].startswith("=")  # the caller's frame is untouched
