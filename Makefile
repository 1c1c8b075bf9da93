# The two set-up commands of the README: `make demo` and `make test`. Both set the machine up first.
.PHONY: setup test lint unit demo bench clean

VENV := .venv/bin

setup:
	@bash scripts/setup

lint: setup
	$(VENV)/ruff check src tests bench
	$(VENV)/mypy
	$(VENV)/lint-imports

test: lint
	$(VENV)/pytest -p no:cacheprovider $(PYTEST_ARGS)

unit: setup
	$(VENV)/pytest -p no:cacheprovider tests/unit $(PYTEST_ARGS)

demo: setup
	@bash scripts/demo

# matplotlib is for the plot only: installed here (idempotent), not in the test setup.
bench: setup
	@$(VENV)/python -c 'import matplotlib' 2>/dev/null || $(VENV)/pip install -q --disable-pip-version-check matplotlib
	$(VENV)/python bench/run.py $(if $(QUICK),--quick,) $(BENCH_ARGS)

clean:
	rm -rf .venv .cache .mypy_cache .ruff_cache
