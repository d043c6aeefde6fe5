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
# # Strategy what-if / 策略模拟
# Pick the champion and challengers, change intensity and offers, run the simulation and
# compare collected (with 90% intervals), cost, net, capacity use and the compliance verdict.
#
# 选定现行策略与挑战策略，调整强度和优惠，运行模拟，比较回收金额（含90%区间）、成本、净回收、产能占用和合规结论。

# %% tags=["parameters"]
data_path = None  # None: data/demo (as `make briefings`), else the same demo generated; a bad path is an error
as_of = "2026-11-29"
lang = "zh"
interactive = True
draws = 500
pack = "cn"

# %%
import matplotlib.pyplot as plt
from IPython.display import HTML, display

import playbook
from playbook.widgets import load_or_demo

pf = load_or_demo(data_path, as_of)
prep = playbook.prepare(pf, as_of)
seg = playbook.segment(prep, as_of, lang=lang)

# %%
if interactive:
    from playbook.widgets import WhatIfApp

    app = WhatIfApp(pf, seg, as_of, lang=lang, pack=pack)
    display(app.widget)
else:
    from playbook.widgets.whatif_app import static_view

    html, fig = static_view(pf, seg, as_of, draws=draws, lang=lang, pack=pack)
    display(HTML(html))
    plt.show()

# %% [markdown]
# ## Optimiser / 最优方案
# The lawful treatment per segment cell with the most expected net collected within team
# hours (the app's second tab; here the static result for scheduled runs).

# %%
if not interactive:
    from playbook.widgets.whatif_app import optimiser_view

    opt_html, opt_fig = optimiser_view(pf, seg, as_of, lang=lang, pack=pack, draws=draws)
    display(HTML(opt_html))
    plt.show()
