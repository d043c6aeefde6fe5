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
# # Team briefing / 团队晨报
# The scheduled morning page for one collection team. Run it through `playbook briefings`
# (papermill, one run per team); the exported HTML hides this code.

# %% tags=["parameters"]
data_path = None  # None: a generated demo portfolio
as_of = "2026-11-29"
team = "early"
lang = "zh"
out_dir = None  # None: show the page only; the runner sets reports/<as-of>/
top_n = 20
interactive = False
prepared = None
pack = "cn"
wait_prepared = 0
roster = None  # a CSV of team, collector, minutes; None: collectors and hours of teams.yaml

# %%
from pathlib import Path

import matplotlib.pyplot as plt
from IPython.display import HTML, display

from playbook import briefing as B
from playbook import plots

b = B.team_briefing(data_path, as_of, team, lang=lang, top_n=top_n, prepared=prepared, out_dir=out_dir, pack=pack,
                    roster=roster, wait_prepared=wait_prepared)
display(HTML(b.header_html()))

# %%
display(HTML(f"<h2>{B.ui('queue', lang)}</h2>" + b.queue_html()))

# %%
display(HTML(f"<h2>{B.ui('kpis', lang)}</h2>" + b.kpi_tiles_html()))

# %%
display(HTML(f"<h2>{B.ui('roll', lang)} / {B.ui('mix', lang)}</h2>"))
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
plots.roll_heatmap(b.roll, lang=lang, ax=axes[0], empty=b.book_note())
plots.segment_mix(b.segments, "behaviour_type", by="stage", lang=lang, ax=axes[1], playbook=b.playbook)
fig.tight_layout()
plt.show()

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 3.6))
plots.segment_mix(b.segments, "contactability", lang=lang, ax=axes[0], playbook=b.playbook)
plots.segment_mix(b.segments, "risk_segment", lang=lang, ax=axes[1], playbook=b.playbook)
fig.tight_layout()
plt.show()

# %%
display(HTML(f"<h2>{B.ui('worklist', lang)}</h2>" + b.worklist_html()))

# %%
display(HTML(f"<h2>{B.ui('openers', lang)}</h2>" + b.openers_html()))

# %%
display(HTML(b.promises_html()))

# %%
display(HTML(f"<h2>{B.ui('collectors', lang)}</h2>" + b.collectors_html()))

# %%
display(HTML(f"<h2>{B.ui('alerts', lang)}</h2>" + b.alerts_html()))

# %%
display(HTML(f"<h2>{B.ui('section', lang)}</h2>" + b.section_html()))

# %%
if out_dir:
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    B.write_json_atomic(Path(out_dir) / f"{team}.json", b.sidecar())
