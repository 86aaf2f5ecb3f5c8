# Two commands do everything: `make run` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test check i18n bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Start the service on the embedded PostgreSQL with the demo catalogue.
run: $(STAMP)
	$(BIN)/krishi db upgrade
	$(BIN)/krishi demo
	$(BIN)/krishi serve

## Run the whole test suite (embedded PostgreSQL unless TEST_DATABASE_URL is set).
test: $(STAMP) /usr/bin/chromium
	$(BIN)/pytest

# Debian's Chromium for the console's browser tests (tests/browser): installed from
# Debian's packages when missing, never a browser downloaded by a test tool.
/usr/bin/chromium:
	apt-get update -qq && apt-get install -y -qq chromium >/dev/null

## Everything CI runs.
check: $(STAMP)
	bash .ci/run

## Refresh the translation catalogs after changing user-facing strings.
i18n: $(STAMP)
	$(BIN)/krishi i18n update
	$(BIN)/krishi i18n check

clean:
	rm -rf $(VENV) .krishi .mypy_cache .ruff_cache .pytest_cache
