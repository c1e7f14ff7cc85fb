# `make demo` and `make test` are the two commands README.rst gives a new user.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VENDOR := socketio_views/static/socketio_views/vendor

.PHONY: demo test test-main test-demo test-django-6.0 test-django-6.1 test-wheels test-wheels-py3.12 test-wheels-others wheel install static docs docs-packages clean system-packages bench

# Debian packages the tests need: Chromium for the browser tests, Redis (redis-server, and
# redis-cli, which tests/test_cluster.py creates a Redis Cluster with) for scale-out.
system-packages:
	@command -v chromium >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }
	@command -v redis-server >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server; }
	@command -v redis-cli >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-tools; }

# Debian packages the docs build needs: Graphviz for docs/concepts.rst's diagrams,
# and the Python and Django documentation whose objects.inv intersphinx links to
# (the build reaches no documentation site; see docs/inventories.py).
docs-packages:
	@command -v dot >/dev/null && test -e /usr/share/doc/python-django-doc/html/objects.inv && ls /usr/share/doc/python3*/html/objects.inv >/dev/null 2>&1 || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends graphviz python3-doc python-django-doc; }

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

install: $(BIN)/python static
	$(BIN)/pip install -r requirements-dev.txt
	$(BIN)/pip install -e .

# The official socket.io-client from the npm registry (and its licence), copied
# into the package's static files: setup.py's CLIENT_FILES.
CLIENT := $(VENDOR)/socket.io.min.js $(VENDOR)/socket.io.min.js.map $(VENDOR)/socket.io.LICENSE
static: $(CLIENT)

$(CLIENT) &: package.json package-lock.json
	npm ci --no-audit --no-fund
	mkdir -p $(VENDOR)
	cp node_modules/socket.io-client/dist/socket.io.min.js node_modules/socket.io-client/dist/socket.io.min.js.map $(VENDOR)/
	cp node_modules/socket.io-client/LICENSE $(VENDOR)/socket.io.LICENSE

docs: docs-packages install
	$(BIN)/python docs/inventories.py
	$(BIN)/sphinx-build -W --keep-going -b html -q docs docs/_build/html

# The whole suite on the main combination (Django 5.2, Python 3.11) in .venv and the
# demo's, then the quick tests (noxfile.py's QUICK_FILES) with the demo's on the other
# supported ones, each in its own nox virtualenv, the two at once, each one's output
# printed when it ends. The whole suite runs in two pytest-xdist workers, all the
# tests of a file in one (they were written to run one after another), on both
# cores by itself (its witnesses bound latencies, 200 ms, that four test processes
# sharing two cores overrun), but for SERIAL_FILES, which run alone after it.
# Before them, beside the documentation build (one core), the built wheel is
# installed with its dependencies resolved on every supported Django and Python
# pair (noxfile.py's SUPPORTED) and smoke-tested; the nox sessions install it too.
test: system-packages install
	@$(MAKE) --no-print-directory --jobs=3 --output-sync=target docs test-wheels
	@$(MAKE) --no-print-directory test-main test-demo
	@echo "Running the Django 6.0 and 6.1 sessions at once; each prints when it ends."
	@$(MAKE) --no-print-directory --jobs=2 --output-sync=target test-django-6.0 test-django-6.1

# Test files whose witnesses bound a latency (200 ms) that a test of the other
# xdist worker, sharing the two cores, made them overrun: run after, one test at a time.
SERIAL_FILES := tests/test_fuzz.py tests/test_limits.py

test-main:
	$(BIN)/python -m pytest --numprocesses=2 --dist=loadfile $(addprefix --ignore=,$(SERIAL_FILES))
	$(BIN)/python -m pytest $(SERIAL_FILES)

test-demo:
	cd demo && ../$(BIN)/python -m pytest

test-django-6.0 test-django-6.1: wheel
	SOCKETIO_VIEWS_WHEEL=$$(ls $(WHEEL_DIR)/*.whl) $(BIN)/nox --no-reuse-existing-virtualenvs --error-on-missing-interpreters -s $(@:test-%=%)

# In two nox runs, which `make test` starts at once beside the documentation build:
# the sessions spend much of their time waiting (virtualenvs, installs, test databases).
test-wheels: test-wheels-py3.12 test-wheels-others

test-wheels-py3.12: wheel
	SOCKETIO_VIEWS_WHEEL=$$(ls $(WHEEL_DIR)/*.whl) $(BIN)/nox --no-reuse-existing-virtualenvs --error-on-missing-interpreters -t wheel-py3.12

test-wheels-others: wheel
	SOCKETIO_VIEWS_WHEEL=$$(ls $(WHEEL_DIR)/*.whl) $(BIN)/nox --no-reuse-existing-virtualenvs --error-on-missing-interpreters -t wheel-py3.11 wheel-py3.13

# The wheel the nox sessions install, built once by each make that needs it.
WHEEL_DIR := .nox/dist
wheel: install
	rm -rf $(WHEEL_DIR)
	$(BIN)/python -m build --wheel --no-isolation --outdir $(WHEEL_DIR) .

demo: install
	cd demo && ../$(BIN)/python manage.py migrate --noinput
	cd demo && ../$(BIN)/python manage.py runserver_socketio $(DEMO_ADDR)

# Benchmarks against raw python-socketio, Django Channels and Socket.IO for Node (see bench/README.md).
bench: install
	bash bench/run.sh $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .nox node_modules docs/_build $(VENDOR) build dist
