# `make demo` and `make test` are the two commands README.rst gives a new user.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VENDOR := socketio_views/static/socketio_views/vendor

.PHONY: demo test test-suite test-main test-demo test-quick quick-installs test-wheels wheel install static docs docs-packages clean system-packages bench

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
# demo's, and the quick tests (noxfile.py's QUICK_FILES) with the demo's from the built
# wheel on every supported Django and Python pair (noxfile.py's SUPPORTED), each pair in
# a nox virtualenv of its own (QUICK_SESSIONS). The whole suite runs in two pytest-xdist
# workers, all the tests of a file in one (they were written to run one after another),
# at normal priority (its witnesses bound latencies, 200 ms, that four test processes
# sharing two cores overrun), but for SERIAL_FILES, which run alone after it; it waits
# on servers and timeouts for most of its time (about a quarter of two cores busy), and
# the quick sessions, at the lowest priority (nice 19), use what it leaves: three at
# once beside it, four after it, each one's output printed when it ends. Before them,
# beside the documentation build (one core), the quick sessions' virtualenvs are
# installed and the wheel sessions of the other pairs (the newest dependency versions
# where the quick tests run with requirements-dev.txt's) are smoke-tested.
test: system-packages install
	@$(MAKE) --no-print-directory --jobs=3 --output-sync=target docs test-wheels quick-installs
	@$(MAKE) --no-print-directory --jobs=4 test-suite test-quick

# Test files whose witnesses bound a latency (200 ms) that a test of the other
# xdist worker, sharing the two cores, made them overrun: run after, one test at a time.
SERIAL_FILES := tests/test_fuzz.py tests/test_limits.py

# One after the other (-j1), beside test-quick.
test-suite:
	@$(MAKE) --no-print-directory --jobs=1 test-main test-demo

test-main:
	$(BIN)/python -m pytest --numprocesses=2 --dist=loadfile $(addprefix --ignore=,$(SERIAL_FILES))
	$(BIN)/python -m pytest $(SERIAL_FILES)

test-demo:
	cd demo && ../$(BIN)/python -m pytest

# The nox sessions that run the quick tests from the wheel, one per supported pair, the
# main combination's too (noxfile.py's tag quick; tests/test_packaging.py checks the list).
QUICK_SESSIONS := django-6.0 django-6.1 wheel-5.2-py3.11 wheel-5.2-py3.12 wheel-5.2-py3.13 wheel-6.0-py3.13 wheel-6.1-py3.12
.PHONY: $(QUICK_SESSIONS:%=test-%)
NOX_WHEEL = SOCKETIO_VIEWS_WHEEL=$$(ls $(WHEEL_DIR)/*.whl 2>/dev/null)

test-quick:
	@$(MAKE) --no-print-directory --output-sync=target $(QUICK_SESSIONS:%=test-%)

# Each in the virtualenv that quick-installs made (-R: reused, nothing installed; a
# session without one installs it, from .nox/dist's wheel or one it builds).
$(QUICK_SESSIONS:%=test-%):
	$(NOX_WHEEL) nice -n 19 $(BIN)/nox --error-on-missing-interpreters -R -s $(@:test-%=%)

quick-installs: wheel
	$(NOX_WHEEL) $(BIN)/nox --error-on-missing-interpreters --no-reuse-existing-virtualenvs --install-only -t quick

# The wheel sessions whose pairs' quick tests run in a django-<series> session, with
# requirements-dev.txt's versions: here with the newest versions, and the smoke tests.
test-wheels: wheel
	$(NOX_WHEEL) $(BIN)/nox --error-on-missing-interpreters --no-reuse-existing-virtualenvs -t smoke

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
