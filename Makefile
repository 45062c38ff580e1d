.PHONY: run test lint format eval fuzz bench bench-metrics bench-query bench-ask bench-api bench-digest bench-load

run:     ## install, load the demo data if the database is empty, serve dashboard + API on :8000
	scripts/run

test:    ## install with dev extras, lint, run every test, then the offline eval (>= 95%)
	scripts/test

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy

format:
	.venv/bin/ruff format . && .venv/bin/ruff check --fix .

fuzz:    ## schemathesis over the OpenAPI schema: ~2,000 cases per backend (PostgreSQL when PORTALPULSE_TEST_PG_URL is set), 0 responses >= 500
	PORTALPULSE_FUZZ_EXAMPLES=$${PORTALPULSE_FUZZ_EXAMPLES:-100} .venv/bin/python -m pytest tests/test_api_fuzz.py -q -s -p no:cacheprovider

eval:    ## the assistant's question bank, offline; see evals/README.md
	.venv/bin/portalpulse eval --provider offline

bench:   ## ingest benchmark (1M events); figures in bench/README.md
	.venv/bin/python bench/ingest.py

bench-metrics:  ## dashboard on 10M events (builds bench/out/ once, minutes)
	.venv/bin/python bench/metrics.py

bench-query:    ## portalpulse query on the 10M-event database, against DuckDB
	.venv/bin/python bench/query.py

bench-ask:
	.venv/bin/python bench/ask.py

bench-api:
	.venv/bin/python bench/api.py

bench-digest:   ## 500 recipients on the 10M-event database
	.venv/bin/python bench/digest.py
