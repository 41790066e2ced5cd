# Two commands a user needs: `make demo` and `make test`. Each sets itself up
# (virtualenv, Python dependencies; the Kafka jars are fetched from Maven Central on first
# use, checked against infra/kafka/jars.lock).

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: demo test unit integration lint typecheck bench chaos clean setup

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

demo: $(STAMP)
	$(BIN)/agentbus demo

test: lint typecheck
	$(BIN)/python -m pytest -q

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

integration: $(STAMP)
	$(BIN)/python -m pytest -q tests/integration tests/chaos

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench.codec_bench
	$(BIN)/python -m bench.invocation_bench
	$(BIN)/python -m bench.http_provider_bench
	$(BIN)/python -m bench.router_bench
	$(BIN)/python -m bench.fuzz_bench --inputs 1000000
	$(BIN)/python -m bench.pipeline_bench
	$(BIN)/python -m bench.dag_bench
	$(BIN)/python -m bench.stage_bench
	$(BIN)/python -m bench.storage_bench
	$(BIN)/python -m bench.trace_bench

# The long chaos run (20 SIGKILLs, a broker restart, a 30 s store outage, odd intake
# events, latency x10) and the 5-minute overload soak; each prints its report.
chaos: $(STAMP)
	$(BIN)/python -m tests.chaos.suite --requests 3000 --rate 15 --kills 20 --outage 30
	$(BIN)/python -m bench.soak --minutes 5

clean:
	rm -rf $(VENV) .agentbus .mypy_cache .ruff_cache .pytest_cache
