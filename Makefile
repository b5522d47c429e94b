# `make demo` and `make test` set up their own virtual environment, so a fresh clone needs only Python 3.11+.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo lint format bench bench-scale fuzz chaos clean teams-package

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q -n 2 --dist worksteal

demo: $(STAMP)
	$(BIN)/escalation-bot demo

lint: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

teams-package: $(STAMP)
	$(BIN)/python -m adapters.teams.package build/escalation-bot-teams.zip

bench: $(STAMP)
	$(BIN)/python -m bench

# Only the scaling benchmark (10k, 100k and 1M escalations), on DATABASE_URL if set, else a temporary SQLite file.
bench-scale: $(STAMP)
	$(BIN)/python -m bench.scale

# The edge fuzz at length: 5,000 mutated payloads each for Slack and Teams (make test runs 150).
fuzz: $(STAMP)
	FUZZ_EXAMPLES=5000 $(BIN)/python -m pytest -q -p no:cacheprovider --timeout 1800 tests/adapters/test_fuzz.py

# The crash test at length: 100 SIGKILLs of `serve` around raises, notes and deliveries (make test
# runs 6). It prints restarts, acknowledged, delivered, lost and doubled.
chaos: $(STAMP)
	CRASH_RESTARTS=100 $(BIN)/python -m pytest -q -s -p no:cacheprovider --timeout 1800 tests/scenarios/test_crash.py

clean:
	rm -rf $(VENV) build *.egg-info
