# Everything a fresh machine needs, from `make run` or `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Models load from local files only; set before Python starts (a hub lookup would hang ~30 s).
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install run up down infra ops-tools topics test test-unit lint fmt typecheck check clean

## the virtualenv and the Python dependencies (again only when pyproject.toml changes)
install:
	@PYTHON=$(PYTHON) VENV=$(VENV) bash deploy/install.sh

## the whole system in the foreground, demo data loaded; Ctrl-C stops it
run: install
	@$(BIN)/modctl run

## the same, left running in the background (`make down` stops it)
up: install
	$(BIN)/modctl up --seed

down: install
	$(BIN)/modctl down

infra: install ops-tools
	bash deploy/kafka/kafka.sh start
	bash deploy/redis/redis.sh start
	bash deploy/desk/install-browser.sh
	$(BIN)/modctl topics

## prometheus, promtool and docker-compose, which tests/ops run (apt-get, when missing)
ops-tools:
	bash deploy/prometheus/install.sh

## the full suite, against a real Kafka and Redis
test: infra
	$(BIN)/pytest

test-unit: install ops-tools
	$(BIN)/pytest -m "not kafka and not e2e"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: install
	$(BIN)/mypy

check: lint typecheck

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
