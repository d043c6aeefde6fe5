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
