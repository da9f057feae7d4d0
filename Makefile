# wfm — the two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest postgres-stop bench samples serve clean help

help:
	@echo "make demo   - set up .venv (first time): forecast, what-if staffing and the nightly replan of a week on data/samples"
	@echo "make test   - ruff, strict mypy and pytest (starts a private PostgreSQL in .pg/ if it can)"
	@echo "make bench  - benchmarks against the named peers; writes BENCHMARKS.md"
	@echo "make serve  - the API on http://127.0.0.1:8000 (docs at /docs) over wfm.db, loaded with data/samples"

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/wfm staff --calls 100 --interval-min 30 --aht-s 180 --sl 0.8 --within-s 20
	$(BIN)/wfm forecast --history data/samples/history.csv --horizon-days 7 --out out/demand.csv
	$(BIN)/wfm whatif --demand out/demand.csv --projects data/samples \
		--calls-scale 1.1 --aht-scale 1.05 --html out/whatif.html
	$(BIN)/wfm whatif --demand out/demand.csv --projects data/samples \
		--requirements-out out/requirements.csv > /dev/null
	@# the nightly batch on the samples: exit 1 (a project misses its target) is a result, not an error
	$(BIN)/wfm replan --data data/samples --week 2026-04-27 --db sqlite:///out/demo.db \
		--out out/plan --time-limit 40 --publish-if-pass; rc=$$?; test $$rc -le 1
	@echo "demo: forecast out/demand.csv, what-if page out/whatif.html, plan out/plan/ (report out/plan/report.html)"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# PostgreSQL for tests/test_db.py: scripts/postgres.sh installs (apt-get, as root) and starts a
# private server in .pg/ and prints its URL. Without it (no root, no apt) the PostgreSQL
# variants skip, and their reason is the script's last message. A URL already set is kept.
pytest: $(STAMP)
	@if [ -z "$$WFM_TEST_POSTGRES_URL" ]; then \
		err=$$(mktemp); \
		if url=$$(bash scripts/postgres.sh 2>$$err); then \
			export WFM_TEST_POSTGRES_URL="$$url"; \
			echo "PostgreSQL for the tests: $$url"; \
		else \
			export WFM_TEST_POSTGRES_SKIP="scripts/postgres.sh failed: $$(tail -n 1 $$err)"; \
		fi; \
		cat $$err >&2; rm -f $$err; \
	fi; \
	$(BIN)/pytest -q

postgres-stop:
	bash scripts/postgres.sh stop

test: lint typecheck pytest

samples: $(STAMP)
	$(BIN)/wfm samples --out data/samples

# The API on the bundled samples (loaded into wfm.db when it has no project yet). Tokens:
# $(BIN)/wfm users add NAME --role planner|supervisor|agent [--agent ID]
serve: $(STAMP)
	$(BIN)/wfm serve --host 127.0.0.1 --port 8000

bench: $(STAMP)
	bash bench/run.sh

clean:
	-bash scripts/postgres.sh stop 2>/dev/null
	rm -rf $(VENV) .venv-bench .mypy_cache .ruff_cache .pytest_cache out .pg
