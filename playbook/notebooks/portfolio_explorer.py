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
# # Portfolio explorer / 资产包浏览
# Filter by stage, team, type, contactability, balance and product; drill into an account;
# export the list as a browser download. `data_path=None` uses the demo data of
# `make briefings` (`data/demo`, or the same portfolio generated when that folder is absent),
# so the explorer shows the same customers as the briefings; any other value is loaded, and a
# path that cannot be read is an error (never silently demo data).
#
# 按阶段、团队、类型、可联性、余额和产品筛选；查看单个账户；把名单下载到本机。`data_path=None` 使用
# `make briefings` 的示例数据（`data/demo`，不存在时生成同一批数据），与晨报是同一批客户；其他路径照常
# 加载，读不了的路径报错（绝不悄悄换成示例数据）。

# %% tags=["parameters"]
data_path = None
as_of = "2026-11-29"
lang = "zh"
interactive = True

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
    from playbook.widgets import PortfolioExplorer

    app = PortfolioExplorer(pf, seg, lang=lang, features=prep.features, as_of=as_of)
    display(app.widget)
else:
    from playbook.widgets.explorer import static_view

    html, fig = static_view(pf, seg, lang=lang)
    display(HTML(html))
    plt.show()
