# PbC Workbooks: two commands matter, `make serve` and `make test` (both set up first).
# Needs Python 3.11 (python3) with venv. Browser tests also need Debian's chromium at /usr/bin/chromium
# (.ci/run installs it).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
NOTEBOOKS := $(wildcard workbooks/*.ipynb workbooks/workshop/*.ipynb exercises/*.ipynb exercises/solutions/*.ipynb)

.PHONY: setup serve test notebooks data readme lint benchmark clean static

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

## Serve the landing page and every workbook with Voilà on http://127.0.0.1:8866/
## (options after ARGS=, e.g. make serve ARGS="--pool-size 2 --base-url /pbc/"; see docs/hosting.md)
serve: $(STAMP)
	$(PY) -m pbc_lib.hosting $(ARGS)

## Run every test: unit, app, data, nbval (strict) on every notebook, and the browser tests.
test: $(STAMP)
	$(PY) -m pytest

## Re-execute every notebook in place (fresh, deterministic outputs for nbval).
notebooks: $(STAMP)
	$(PY) -m pbc_lib.execute $(NOTEBOOKS)

## Regenerate the synthetic data set (byte-for-byte reproducible), validate every table and
## record the checksums the kernels trust (data/MANIFEST.sha256).
data: $(STAMP)
	$(PY) -m pbc_lib.synth
	$(PY) -m pbc_lib.data --write-manifest

## Rewrite the README's generated list of workbooks from the notebooks' metadata.
readme: $(STAMP)
	$(PY) -m pbc_lib.catalogue --write-readme

## Offline copy: every notebook as self-contained HTML (no server, no network) in build/static/.
static: $(STAMP)
	$(PY) -m pbc_lib.export --out build/static

lint: $(STAMP)
	$(VENV)/bin/ruff check pbc_lib tests benchmarks

clean:
	rm -rf $(VENV) tests/artifacts
