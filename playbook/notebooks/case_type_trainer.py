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
# to avoid, the red lines, sample dialogues, masked real cases, and a quiz.

# %% tags=["parameters"]
data_path = None  # None: a generated demo portfolio; a path that cannot be read is an error
as_of = "2026-11-29"
lang = "zh"
interactive = True

# %%
from IPython.display import HTML, display

import playbook
from playbook.widgets import load_or_demo

pf = load_or_demo(data_path, as_of)
seg = playbook.segment(pf, as_of, lang=lang)

# %%
if interactive:
    from playbook.widgets import CaseTrainer

    app = CaseTrainer(pf, seg, lang=lang)
    display(app.widget)
else:
    from playbook.widgets.trainer import static_view

    display(HTML(static_view(pf, seg, lang=lang)))
