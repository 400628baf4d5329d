# Prepay — the two commands a newcomer needs are `make demo` and `make test`.
# Both build .venv from requirements.lock when it is missing or older than the lock.

PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: demo test lint typecheck pytest fuzz venv lock clean-venv messages

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11+ is required (python3.11, python3.12 or python3.13 on PATH)"; exit 1; }
	@echo "==> creating $(VENV) with $(PYTHON) from requirements.lock"
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

demo: venv
	$(BIN)/prepay demo --host $(HOST) --port $(PORT)

test: venv lint typecheck pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy prepay

pytest: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Fuzz the API from its OpenAPI schema (schemathesis): no 5xx, no undocumented status code or body.
# FUZZ_EXAMPLES sets the generated requests per operation.
FUZZ_EXAMPLES ?= 60
fuzz: venv
	PREPAY_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest fuzz -q -p no:cacheprovider $(PYTEST_ARGS)

# Refresh the zh-Hans catalogue from the code and templates, then compile it (commit both files).
messages: venv
	$(BIN)/python manage.py makemessages -l zh_Hans --ignore='.venv/*' --ignore='var/*' --ignore='tests/*' --ignore='bench/*' --no-obsolete --no-location
	$(BIN)/python manage.py compilemessages --ignore='.venv/*'

lock: venv
	$(BIN)/python -m pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links -o requirements.lock requirements.in

clean-venv:
	rm -rf $(VENV)
