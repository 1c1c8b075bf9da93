# The two set-up commands of the README: `make demo` and `make test`. Both set the machine up first.
.PHONY: setup test lint unit demo bench clean

VENV := .venv/bin

setup:
	@bash scripts/setup

lint: setup
	$(VENV)/ruff check src tests bench
	$(VENV)/mypy

test: lint
	$(VENV)/pytest -p no:cacheprovider $(PYTEST_ARGS)

unit: setup
	$(VENV)/pytest -p no:cacheprovider tests/unit $(PYTEST_ARGS)

demo: setup
	@bash scripts/demo

bench: setup
	$(VENV)/python bench/run.py $(if $(QUICK),--quick,)

clean:
	rm -rf .venv .cache .mypy_cache .ruff_cache
