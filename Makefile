# Everything runs from a local virtual environment that the first target creates.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo up test lint unit fast bench lighthouse clean locales-extract locales-update locales api-docs

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Lighthouse (npm) for the dashboard's audit in tests/e2e/test_demo.py, kept in .lighthouse/
# (ignored by git); it drives Debian's /usr/bin/chromium.
LIGHTHOUSE_VERSION := 12.2.3
LIGHTHOUSE_STAMP   := .lighthouse/.installed-$(LIGHTHOUSE_VERSION)

$(LIGHTHOUSE_STAMP):
	npm install --no-audit --no-fund --loglevel=error --prefix .lighthouse lighthouse@$(LIGHTHOUSE_VERSION)
	touch $(LIGHTHOUSE_STAMP)

lighthouse: $(LIGHTHOUSE_STAMP) ## install Lighthouse into .lighthouse/

demo: $(STAMP) ## run the platform with the 2023-2024 demonstration history
	$(BIN)/coop demo

up: $(STAMP) ## run the platform, empty
	$(BIN)/coop up

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint lighthouse ## lint, type-check and run every test
	$(BIN)/pytest -q

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

fast: $(STAMP) ## the rules in seconds: unit tests and the in-process tier (no process, no NATS)
	$(BIN)/pytest -q tests/unit tests/inprocess

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .lighthouse

# Message catalogs (Babel): French is the source language, shared/locales/en translates it.
locales-extract: $(STAMP) ## collect the French messages of the code into shared/locales/messages.pot
	$(BIN)/pybabel extract --no-location --sort-output --omit-header -k N_ \
		-o shared/locales/messages.pot shared services

locales-update: locales-extract ## merge new messages into shared/locales/en/LC_MESSAGES/messages.po
	$(BIN)/pybabel update --no-fuzzy-matching -i shared/locales/messages.pot -d shared/locales -D messages

locales: $(STAMP) ## compile the catalogs the services read (.mo)
	$(BIN)/pybabel compile -d shared/locales -D messages

api-docs: $(STAMP) ## regenerate docs/api: every service's OpenAPI and every publisher's AsyncAPI
	$(BIN)/python -m services.api_documents docs/api
