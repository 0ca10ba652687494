# The two commands of the quick start: `make run` and `make test`.
# Each creates the virtual environment and installs what it needs first.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: run test lint build clean system-packages

run: $(VENV)/.installed
	$(BIN)/mededkg serve

# Debian packages the tests drive: Chromium and a CJK font (browser tests, screenshots
# of Chinese pages), roqet from rasqal-utils (a second, independent SPARQL client), and
# Apache Jena with a Java runtime and rapper from raptor2-utils (independent parsers of
# the dumps and result sets, tests/test_other_engines.py), and Virtuoso 7 (a second
# SPARQL store for the back-end suite, tests/test_backends.py).
# Installed with apt-get when missing and run as root; otherwise the command is printed.
SYSTEM_PACKAGES = chromium fonts-wqy-zenhei rasqal-utils \
  libapache-jena-java default-jre-headless raptor2-utils virtuoso-opensource

# Test files run on TEST_WORKERS processes (pytest-xdist), each file on one worker so
# its module fixtures are built once; tests/conftest.py puts the slowest files first.
TEST_WORKERS ?= 2

test: $(VENV)/.installed-test system-packages
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

system-packages:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing $(SYSTEM_PACKAGES) (missing:$$missing)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES) >/dev/null; \
	  else \
	    echo "the tests need:$$missing — run: sudo apt-get install $(SYSTEM_PACKAGES)"; exit 2; \
	  fi; \
	fi

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict mededkg webapp

build: $(VENV)/.installed
	$(BIN)/mededkg build

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
