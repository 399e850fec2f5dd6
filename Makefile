# Two entry points (see README): `make demo` and `make test`. Both create or reuse .venv
# from the pinned versions in requirements.lock.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
CORES ?= all

.PHONY: venv demo test report clean

$(BIN)/snakemake: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first and alone: with no torch present, a dependency resolver may pick a CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

venv: $(BIN)/snakemake

demo: venv
	$(BIN)/snakemake --cores $(CORES)

report: venv
	$(BIN)/snakemake --report results/report.html

test: venv
	$(BIN)/python -m pytest -q tests

clean:
	rm -rf results .snakemake
