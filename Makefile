# Palimpsest — `make demo` and `make test` set everything up on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
ARGS ?=

.PHONY: all install demo test lint fmt serve crawl bench bench-memory clean

all: lint test

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# The pip a new venv gets (23.x) skips lxml_html_clean, and trafilatura then fails to import.
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## make demo: crawl the bundled sample blog, publish a silent correction, recrawl, show the diff,
## then open Datasette on it (NO_SERVE=1 stops after the diff).
demo: install
	$(VENV)/bin/palimpsest demo $(if $(NO_SERVE),--no-serve,)

## make test [ARGS=...]: the whole suite (unit, corpus, end-to-end, Datasette, CLI).
test: install
	$(PY) -m pytest $(ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/cog --check README.md

fmt: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
	$(VENV)/bin/cog -r README.md

serve: install
	$(VENV)/bin/palimpsest serve --db $(or $(DB),archive.db)

crawl: install
	$(VENV)/bin/palimpsest crawl $(URL) --db $(or $(DB),archive.db)

## make bench [N=1000] [RUNS=3]: speed of Palimpsest against the extraction limit, a tutorial
## pipeline and trafilatura's CLI, plus Datasette on a 100,000-version archive (~15 min; see
## bench/README.md). Writes bench/results/*.json and bench/RESULTS.md.
bench: install
	$(PY) -m bench all --n $(or $(N),1000) --runs $(or $(RUNS),3)

## make bench-memory [SIZES="2000 20000"]: peak RSS of a first crawl as N grows (N = 20,000 takes
## 10+ minutes).
bench-memory: install
	$(PY) -m bench memory $(foreach n,$(or $(SIZES),2000 20000),--size $(n))

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info demo.db demo.db-* demo.log
