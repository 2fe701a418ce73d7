# One command each for the main jobs; every target bootstraps .venv on a fresh machine.
PY ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.synced

.PHONY: demo test lint fmt bench clean venv sysdeps anvil screenshots

# From Debian, not PyPI: the fonts the PDF documents embed (DejaVu, with Cyrillic) and poppler's
# pdftotext/pdftoppm/pdffonts that their tests read them with; Chromium for the portal's browser tests
# (Playwright drives it by its path: no browser download). Installed only when missing.
FONT := /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf

$(UV):
	$(PY) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "uv==0.13.8"

$(STAMP): $(UV) pyproject.toml uv.lock
	# Bytecode compiled once here: this environment may forbid writing it at run time.
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --quiet --compile-bytecode --extra spark
	$(VENV)/bin/python -m compileall -q src
	touch $(STAMP)

sysdeps:
	@test -f $(FONT) || { apt-get update -qq && apt-get install -y --no-install-recommends fonts-dejavu-core; }
	@command -v pdftotext >/dev/null || { apt-get update -qq && apt-get install -y --no-install-recommends poppler-utils; }
	@test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y --no-install-recommends chromium; }

venv: $(STAMP) sysdeps

# anvil (a development Ethereum node) for the chain registry's integration tests and `o2o demo --registry evm`:
# from the npm registry's @foundry-rs/anvil (its platform binary comes as an optional dependency).
ANVIL_VERSION := 1.7.1
ANVIL := $(TOOLS)/npm/node_modules/.bin/anvil

$(ANVIL):
	npm install --prefix $(TOOLS)/npm --no-audit --no-fund --no-save "@foundry-rs/anvil@$(ANVIL_VERSION)"
	$(ANVIL) --version >/dev/null

anvil: $(ANVIL)

demo: $(STAMP) sysdeps
	$(BIN)/o2o demo --fresh

test: $(STAMP) sysdeps $(ANVIL)
	$(BIN)/pytest -n 2 -q

# The portal's pages as the browser test walks a month (Chromium through Playwright), into docs/screenshots/.
screenshots: $(STAMP) sysdeps
	O2O_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q -p no:cacheprovider tests/api/test_portal_browser.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	# The layers of DESIGN.md: the contracts are [tool.importlinter] in pyproject.toml.
	$(BIN)/lint-imports --no-cache

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	@for b in benchmarks/*_bench.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) $(TOOLS) o2o-data .pytest_cache .mypy_cache .ruff_cache
