# Two commands set everything up on a fresh machine: `make briefings` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
AS_OF ?= 2026-11-29
ACCOUNTS ?= 5000
SEED ?= 7
BRIEFING_LANG ?= zh  # the demo portfolio is Chinese; `make briefings BRIEFING_LANG=en` for English pages
DEMO := data/demo

.PHONY: install test briefings demo bench lab trainer clean system-deps screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/lint-imports
	PLAYBOOK_SCREENSHOTS=reports/screenshots $(BIN)/python -m pytest -q -p no:cacheprovider tests --nbval-lax notebooks

demo: $(STAMP)
	$(BIN)/playbook demo-data --accounts $(ACCOUNTS) --seed $(SEED) --as-of $(AS_OF) --out $(DEMO)

REPORTS := reports/$(AS_OF)

briefings: demo
	$(BIN)/playbook validate $(DEMO) > /dev/null
	$(BIN)/playbook briefings $(DEMO) --as-of $(AS_OF) --teams all --out reports --lang $(BRIEFING_LANG)
	$(BIN)/playbook report $(DEMO) --as-of $(AS_OF) --out reports --lang $(BRIEFING_LANG)
	@echo "open $(REPORTS)/index.html and $(REPORTS)/monthly_analysis_$(strip $(BRIEFING_LANG)).html"

# Headless-Chromium screenshots of index.html, every team page (zh and en) and both Voilà
# apps, into reports/screenshots/ (needs `make system-deps`).
screenshots: demo
	$(BIN)/python tools/screenshots.py --data $(DEMO) --as-of $(AS_OF) --out reports/screenshots

# Debian packages the project uses: a CJK font for Chinese chart labels, Chromium for the
# browser test, PostgreSQL and MariaDB servers for the database tests (tests/test_sql.py
# starts its own on loopback, in throwaway folders). Needs root (CI runs as root); without
# them charts fall back to English and those tests are skipped.
SYSTEM_PACKAGES = fonts-noto-cjk chromium postgresql mariadb-server
system-deps:
	@if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	  dpkg -s $(SYSTEM_PACKAGES) >/dev/null 2>&1 || \
	  (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(SYSTEM_PACKAGES)) || \
	  echo "system-deps: apt-get failed; charts fall back to English, the browser and database tests are skipped"; \
	else echo "system-deps: not root or no apt-get; skipping (charts fall back to English labels)"; fi

bench: $(STAMP)
	$(BIN)/python -m bench

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

trainer: $(STAMP)
	$(BIN)/voila notebooks/case_type_trainer.ipynb

clean:
	rm -rf $(VENV) reports $(DEMO)
