.PHONY: run test lint format bench

run:     ## install, load the demo data, show it
	scripts/run

test:    ## install with dev extras, lint, run every test
	scripts/test

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

format:
	.venv/bin/ruff format . && .venv/bin/ruff check --fix .

bench:   ## ingest benchmark (1M events); see bench/README.md
	.venv/bin/python bench/ingest.py
