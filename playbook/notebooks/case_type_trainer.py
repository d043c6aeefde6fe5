# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Case-type trainer / 客户类型培训
# The seven behavioural types from the seeds: traits, how to recognise them, tactics, what
# to avoid, the red lines, sample dialogues, masked real cases; the craft (望闻问切, 度,
# prevention, plans, ...), case studies with their lawful lessons, the repayment-plan
# calculator, the collector-assessed styles and B2B types, and a quiz.
#
# 种子文档中的七种行为类型：特征、识别线索、应对做法、禁忌、红线、对话示例、脱敏真实案例；催收技艺
# （望闻问切、度、预防、方案……）、案例及其合规启示、还款方案计算器、催收员评估的沟通风格与企业客户类型，以及测验。

# %% tags=["parameters"]
data_path = None  # None: data/demo (as `make briefings`), else the same demo generated; a bad path is an error
as_of = "2026-11-29"
lang = "zh"
interactive = True

# %%
from IPython.display import HTML, display

import playbook
from playbook.widgets import load_or_demo

pf = load_or_demo(data_path, as_of)
prep = playbook.prepare(pf, as_of)
seg = playbook.segment(prep, as_of, lang=lang)

# %%
if interactive:
    from playbook.widgets import CaseTrainer

    app = CaseTrainer(pf, seg, lang=lang, features=prep.features)
    display(app.widget)
else:
    from playbook.widgets.trainer import static_view

    display(HTML(static_view(pf, seg, lang=lang)))
