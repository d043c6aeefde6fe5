# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown] tags=["remove_cell"]
# # Monthly collections analysis / 月度催收分析报告
# The monthly page for the people who set strategy: data source, methods, charts, findings
# by rule and recommendations. Run it through `playbook report` (papermill); the exported
# HTML hides this code. `data_path=None` uses the demo data (`data/demo`, or the same
# portfolio generated when that folder is absent).

# %% tags=["parameters"]
data_path = None  # None: the demo portfolio
as_of = "2026-11-29"
lang = "zh"
prepared = None  # the report computed by `playbook report` (a .pkl); None: compute it here

# %%
import matplotlib.pyplot as plt
from IPython.display import HTML, display

from playbook import report as R

if prepared:
    r = R.MonthlyReport.load(prepared)
else:
    from playbook.widgets import load_or_demo

    r = R.compute(load_or_demo(data_path, as_of), as_of, source=str(data_path or "demo"))


def show(name):
    """Draw one chart, or nothing when the analysis is n/a."""
    if r.figure(name, lang) is not None:
        plt.show()


display(HTML(R.style_html() + r.header_html(lang)))

# %%
display(HTML(r.methods_html(lang)))

# %%
display(HTML(f"<h2>{r.t('charts', lang)}</h2>" + r.section_html("repayment", lang) + r.table_html("repayment", lang)))
show("repayment")

# %%
display(HTML(r.section_html("delinquency", lang)))
show("delinquency")

# %%
display(HTML(r.section_html("promises", lang) + r.table_html("promises", lang)))
show("promises")

# %%
display(HTML(r.section_html("value", lang) + r.table_html("value", lang)))
show("value")

# %%
display(HTML(r.section_html("effectiveness", lang) + r.table_html("effectiveness", lang)))
show("effectiveness")

# %%
display(HTML(r.section_html("forecast", lang) + r.table_html("forecast", lang)))
show("forecast")
show("vintage")
display(HTML(r.vintage_note_html(lang) + r.backtest_html(lang)))

# %%
display(HTML(r.findings_html(lang)))

# %%
display(HTML(r.recommendations_html(lang)))
