"""What the documentation claims, checked against the code.

Each test quotes the page it keeps true: if the behaviour changes, the test
fails; if the page is rewritten to say something else, the quote no longer
matches and the test fails too, until the test is updated with it.
"""
import ast
import datetime
import importlib.util
import json
import re
from pathlib import Path

import attrs
import pytest
import socketio
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

import socketio_views
from socketio_views import ChannelRouter, ChannelView, backends, conf, history, mixins, presence, throttling
from socketio_views.transport.server import make_server
from socketio_views.testing import ChannelTestClient, SubscriptionRefused

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def page(name):
    """The text of docs/<name>, with runs of whitespace made single spaces."""
    return " ".join((DOCS / name).read_text().split())


def says(name, sentence):
    """Assert that docs/<name> says ``sentence`` (whitespace-insensitive)."""
    assert " ".join(sentence.split()) in page(name), f"docs/{name} no longer says: {sentence}"


# The seven claims a review found wrong (issue 17), each now true and kept so.


def test_server_options_win_over_max_message_size_and_backend():
    """max_http_buffer_size and client_manager in SERVER_OPTIONS silently win; namespaces raises TypeError."""
    says("settings.rst", "given both ways, the value in ``SERVER_OPTIONS`` wins, silently.")
    says("settings.rst", "a ``client_manager`` in ``SERVER_OPTIONS`` silently replaces it")
    says("settings.rst", "Passing it in ``SERVER_OPTIONS`` makes creating the server fail with ``TypeError``.")
    with override_settings(SOCKETIO_VIEWS={"SERVER_OPTIONS": {"max_http_buffer_size": 1234}}):
        assert make_server().eio.max_http_buffer_size == 1234
    with override_settings(SOCKETIO_VIEWS={"MAX_MESSAGE_SIZE": 4321}):
        assert make_server().eio.max_http_buffer_size == 4321
    manager = socketio.Manager()
    with override_settings(SOCKETIO_VIEWS={"SERVER_OPTIONS": {"client_manager": manager}}):
        assert make_server().manager is manager
    with override_settings(SOCKETIO_VIEWS={"SERVER_OPTIONS": {"namespaces": ["/a"]}}):
        with pytest.raises(TypeError, match="namespaces"):
            make_server()


def test_misplaced_mixins_are_refused_when_the_class_is_created():
    """A mixin listed after ChannelView raises ImproperlyConfigured with the corrected line."""
    says("security.rst", "Placed after ``ChannelView``, they would never be called, so the class definition "
         "raises ``ImproperlyConfigured`` with the corrected line.")
    with pytest.raises(
        ImproperlyConfigured,
        match=re.escape("Put mixins before ChannelView: class Late(LoginRequiredMixin, ..., ChannelView)."),
    ):
        class Late(ChannelView, mixins.LoginRequiredMixin):
            pass


@pytest.mark.django_db
def test_a_handle_no_permission_that_returns_still_refuses():
    """An override of handle_no_permission() that returns refuses with permission_denied."""
    says("security.rst", "if an override returns instead of raising, the subscription is refused all the "
         "same, with ``permission_denied``.")

    class Forgetful(mixins.LoginRequiredMixin, ChannelView):
        def handle_no_permission(self):
            return None

    router = ChannelRouter()
    router.register("forgetful", Forgetful)
    with pytest.raises(SubscriptionRefused) as refused:
        ChannelTestClient(router=router).subscribe("forgetful")
    assert refused.value.code == "permission_denied"


@pytest.mark.django_db
def test_a_value_json_cannot_carry_is_a_server_error_in_tests():
    """In ChannelTestClient, returning or sending a datetime gives the server_error ack; emit() does not raise."""
    says("testing.rst", "A handler that sends or returns such a value fails with ``server_error``")

    class Clock(ChannelView):
        def on_now(self, data):
            return {"at": datetime.datetime(2026, 1, 1)}

        def on_tell(self, data):
            self.send({"at": datetime.datetime(2026, 1, 1)})
            return {"ok": True}

    router = ChannelRouter()
    router.register("clock", Clock)
    clock = ChannelTestClient(router=router).subscribe("clock")
    assert clock.emit("now")["error"]["code"] == "server_error"
    assert clock.emit("tell")["error"]["code"] == "server_error"
    assert clock.emit("now")["error"]["code"] == "server_error", "the subscription lives on"


def backend_table():
    """The rows of the table under "What each BACKEND URL shares" in docs/scaleout.rst."""
    text = (DOCS / "scaleout.rst").read_text()
    section = text[text.index(".. _backend-urls:"):text.index("What crosses processes")]
    rows = re.findall(r'^   "(.*)", "(.*)", "(.*)"$', section, flags=re.MULTILINE)
    assert len(rows) >= 8

    def value(cell):
        if cell == "each process's memory":
            return None
        assert cell.startswith("``") and cell.endswith("``"), cell
        return ast.literal_eval(cell[2:-2]) if cell == "``None``" else cell[2:-2]

    return [tuple(value(cell) for cell in row) for row in rows]


@pytest.mark.parametrize("backend, shared_in, rate_limits_in", backend_table())
def test_each_backend_url_shares_what_the_table_says(backend, shared_in, rate_limits_in):
    """Presence, history and rate limits go where docs/scaleout.rst's table says, for each BACKEND scheme."""
    with override_settings(SOCKETIO_VIEWS={"BACKEND": backend}):
        assert backends.presence_url() == shared_in
        assert (conf.views_settings.HISTORY_URL or backends.shared_redis_url()) == shared_in
        assert backends.rate_limit_storage_url() == (rate_limits_in or "memory://")


def test_override_settings_reaches_the_cached_stores():
    """override_settings(SOCKETIO_VIEWS=...) makes the presence and history stores and the rate limiters anew."""
    says("settings.rst", ":func:`~django.test.override_settings` (``SOCKETIO_VIEWS=...``) reaches every key")
    before = presence.get_presence(), history._store.get(), throttling._limiters.get()
    assert isinstance(before[0], presence.MemoryPresence)
    with override_settings(SOCKETIO_VIEWS={"PRESENCE_URL": "redis://127.0.0.1:6379/0", "HISTORY_URL": "redis://127.0.0.1:6379/0"}):
        during = presence.get_presence(), history._store.get(), throttling._limiters.get()
        assert isinstance(during[0], presence.RedisPresence)
        assert isinstance(during[1], history.RedisHistory)
        assert during[2] is not before[2]
    after = presence.get_presence(), history._store.get()
    assert isinstance(after[0], presence.MemoryPresence) and after[0] is not before[0]
    assert isinstance(after[1], history.MemoryHistory)


def test_pip_users_need_no_node():
    """The pages say pip needs no Node.js, and name the browser client's version that package-lock.json pins.

    tests/test_packaging.py installs the built sdist and wheel in a fresh venv
    with no npm on PATH and fetches the client from the installed package.
    """
    says("tutorial.rst", "It needs no Node.js and no npm: the wheel and the sdist both carry the official")
    says("browser.rst", "so ``pip install`` users need no Node.js")
    lock = json.loads((ROOT / "package-lock.json").read_text())
    version = lock["packages"]["node_modules/socket.io-client"]["version"]
    says("tutorial.rst", f"`socket.io-client <https://www.npmjs.com/package/socket.io-client>`_ {version} as a static file")
    packaging_tests = (ROOT / "tests" / "test_packaging.py").read_text()
    assert "def test_a_fresh_venv_without_npm_installs_it_and_serves_the_browser_client" in packaging_tests


# The claims an outside check found wrong (issue 28), each now true and kept so.


@pytest.mark.django_db
def test_logging_out_ends_the_subscriptions_already_accepted():
    """A user who logs out loses the subscriptions the access mixins accepted: security.rst says so in both places."""
    says("security.rst", "when that user logs out, the subscriptions already accepted end (see :ref:`logout`).")
    assert "keeps the subscriptions already accepted" not in page("security.rst")

    class Members(mixins.LoginRequiredMixin, ChannelView):
        pass

    router = ChannelRouter()
    router.register("members", Members)
    from django.contrib.auth.models import User

    alice = ChannelTestClient(router=router, user=User.objects.create_user("alice"))
    members = alice.subscribe("members")
    alice.logout()
    assert members.closed
    assert "logged_out" == alice.received("error")[0]["code"]


@attrs.define
class Note:
    text: str


@pytest.mark.django_db
def test_broadcast_and_send_convert_attrs_instances():
    """socketio_views.broadcast() and send() send an attrs instance as a JSON object, as a view's methods do."""
    says("security.rst", "and so is one passed to :func:`socketio_views.broadcast` or :func:`socketio_views.send`")
    assert "do not convert" not in page("security.rst")
    router = ChannelRouter()
    router.register("notes", ChannelView)
    notes = ChannelTestClient(router=router).subscribe("notes")
    socketio_views.broadcast("notes", Note("to all"))
    socketio_views.send(notes.sid, Note("to one"))
    assert [{"text": "to all"}, {"text": "to one"}] == notes.received("message")


def test_the_deployment_figures_come_from_bench_results():
    """deployment.rst types no figure of the bench: its :bench: roles read bench/results at build time, as lean.md shows them."""
    text = page("deployment.rst")
    typed = re.findall(r"\d[\d,.]*\)? ?(?:KB|new connections|connections a second)", re.sub(r":bench:`[^`]*`", "", text))
    assert [] == typed, "figures of the bench belong in :bench: roles (docs/benchfigures.py)"
    roles = re.findall(r":bench:`([^`]*)`", text)
    assert len(roles) >= 2
    spec = importlib.util.spec_from_file_location("benchfigures", DOCS / "benchfigures.py")
    benchfigures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchfigures)
    for role in roles:
        name = role.split()[0]
        shown = benchfigures.figure(role)
        assert shown in (ROOT / "bench" / "results" / f"{name}.md").read_text(), (role, shown)
    with pytest.raises(benchfigures.BenchFigureError, match="lean.json has no runs of idle socketio_views K=7"):
        benchfigures.figure("lean idle socketio_views K=7 rss_per_conn_kb")


def test_a_bench_role_subtracts_two_figures_of_two_results():
    """`` - `` between two figures shows the difference of their medians, with the first one's digits; not of ranges or ratios."""
    spec = importlib.util.spec_from_file_location("benchfigures", DOCS / "benchfigures.py")
    benchfigures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchfigures)
    tuned = "tuned idle socketio_views K=10000 rss_per_conn_kb"
    raw = "raw-no-greenlet-tree idle python-socketio K=10000 rss_per_conn_kb"
    medians = [float(benchfigures.figure(one)) for one in (tuned, raw)]
    assert f"{medians[0] - medians[1]:.1f}" == benchfigures.figure(f"{tuned} - {raw}")
    with pytest.raises(benchfigures.BenchFigureError, match="a difference has no range"):
        benchfigures.figure(f"{tuned} range - {raw}")
    with pytest.raises(benchfigures.BenchFigureError, match="a ratio has no range and is not subtracted"):
        benchfigures.figure(f"tuned idle socketio_views/python-socketio K=10000 rss_per_conn_kb - {raw}")


#: What a figure measured by a bench looks like when it is typed: a ratio (×0.61), a decimal size or time
#: (53.4 KB, 0.22 ms), a rate of connections, a size per connection, entry or session. Settings, limits
#: and arithmetic are written as whole numbers and do not match.
TYPED_BENCH_FIGURE = re.compile(
    r"×\s?\d+\.\d+|\d+\.\d+\s?(?:KB|MB|GB|ms|µs)\b|\d[\d,]*\s(?:new\s)?connections\sa\ssecond"
    r"|\d[\d,.]*\s(?:KB|bytes)\sper\s(?:idle\s)?(?:connection|entry|session)"
)

#: Figures of that look that are not a bench's: (page, figure).
NOT_FROM_A_BENCH = {
    ("capacity.rst", "1.25 GB"),  # arithmetic on an assumed 50 KB
    ("operations.rst", "0.5 ms"),  # a histogram's first bucket
    ("README.md", "×1.00"),  # bench/README.md: the ratio of the reference row to itself
}


def test_no_page_types_a_figure_of_a_bench():
    """No page or README (bench/README.md included) types a figure of the kinds a bench measures: they come from bench/results."""
    typed = set()
    for path in [*sorted(DOCS.rglob("*.rst")), ROOT / "README.rst", ROOT / "bench" / "README.md"]:
        text = " ".join(path.read_text().split())
        text = re.sub(r"``[^`]*``", "``…``", re.sub(r":bench:`[^`]*`", "<figure>", text))
        typed |= {(path.name, found) for found in TYPED_BENCH_FIGURE.findall(text)}
    assert set() == typed - NOT_FROM_A_BENCH, "figures of a bench belong in :bench: roles (docs/benchfigures.py)"
    assert set() == NOT_FROM_A_BENCH - typed, "a figure no page types any more: remove it from NOT_FROM_A_BENCH"


def test_the_soak_held_what_the_benchmarks_page_says():
    """benchmarks.rst says the soak of soak-full.json held both rules and passed every check; its figures are :bench: roles."""
    says("benchmarks.rst", "The 10-minute run of ``bench/results/soak-full.md`` held both rules")
    says("benchmarks.rst", "without gap, duplicate or reordering")
    says("benchmarks.rst", "the server logged no traceback")
    soak = json.loads((ROOT / "bench" / "results" / "soak-full.json").read_text())
    assert {"rss": True, "greenlets": True} == {name: rule["pass"] for name, rule in soak["rules"].items()}
    assert [] == [name for name, ok in soak["checks"].items() if ok is not True]
    [run] = soak["results"]["soak"]["socketio_views"]["10min-1000"]
    assert (run["drops"], run["slow_consumers"]) == (run["drops_recovered"], run["slow_consumers_ended"])


#: gevent-websocket's worker: it serves channels, but without the drain and the lean path.
OLD_WORKER = "geventwebsocket.gunicorn.workers.GeventWebSocketWorker"


def user_pages():
    """README.rst and every page of docs/ (the build aside), with their paths from the root."""
    paths = [ROOT / "README.rst", *sorted(p for p in DOCS.rglob("*.rst") if "_build" not in p.parts)]
    return {str(path.relative_to(ROOT)): " ".join(path.read_text().split()) for path in paths}


def test_one_worker_is_recommended_everywhere():
    """Every gunicorn command of the README and the docs, and the refusal's message, name socketio_views' worker; gevent-websocket's is named only to say what it lacks."""
    commands = []
    for path, text in user_pages().items():
        for worker in re.findall(r"(?:--worker-class|(?<![\w-])-k)[ =]([A-Za-z][\w.]*)", text):
            commands.append(worker)
            assert "socketio_views.workers.GeventWebSocketWorker" == worker, f"{path} runs gunicorn with {worker}"
        for sentence in re.split(r"(?<=[.:;])\s", text):
            if OLD_WORKER in sentence:
                assert "without the drain" in sentence, f"{path} recommends {OLD_WORKER}: {sentence}"
    assert len(commands) >= 5
    says("deployment.rst", "gevent-websocket's own worker, which it extends, serves channels too, but without the "
         "drain and without the lean path.")
    from socketio_views.exceptions import WebSocketUnsupported

    assert "socketio_views.workers.GeventWebSocketWorker" in WebSocketUnsupported.default_message


def test_the_drain_page_says_what_a_recovery_brings_back():
    """drain.rst promises no more than recovery keeps: not send()s, not broadcasts during a Redis outage, nothing across processes without Redis."""
    assert "nothing is lost" not in page("drain.rst")
    says("drain.rst", "What a recovery does not bring back is lost to the clients that were away: what ``send()`` "
         "addressed to one subscriber (never kept)")
    says("drain.rst", "broadcasts sent while Redis was down (delivered without being kept, see :ref:`history-outage`)")
    says("drain.rst", "Without Redis (no ``BACKEND``, or a Kafka or AMQP one, and no ``HISTORY_URL``) history and "
         "sessions are in each process's memory")
    assert isinstance(history.get_history(), history.MemoryHistory)
    with override_settings(SOCKETIO_VIEWS={"BACKEND": "kafka://127.0.0.1:9092"}):
        assert isinstance(history.get_history(), history.MemoryHistory)


@pytest.mark.django_db
def test_a_bytes_broadcast_on_a_channel_with_history_raises(monkeypatch):
    """bytes cannot be kept: on a channel with history the broadcast raises TypeError and reaches nobody; history=False sends it."""
    says("history.rst", "a broadcast of ``bytes`` (or of anything else JSON cannot carry) on a channel with history "
         "raises ``TypeError`` before it is sent, so no subscriber receives it")

    class Kept(ChannelView):
        history = 5

    router = ChannelRouter()
    router.register("kept", Kept)
    monkeypatch.setattr("socketio_views.mounts.mounted_routers", lambda urlconf=None: [("socket.io/", router)])
    kept = ChannelTestClient(router=router).subscribe("kept")
    with pytest.raises(TypeError, match="bytes"):
        socketio_views.broadcast("kept", b"\x00\x01")
    assert [] == kept.received("message")
    socketio_views.broadcast("kept", b"\x00\x01", history=False)
    assert [b"\x00\x01"] == kept.received("message")


# The reference is complete.


def documented_defaults():
    """{key: the default its section of docs/settings.rst gives}, from its ``Default:`` line."""
    text = (DOCS / "settings.rst").read_text()
    sections = re.split(r"^(.+)\n=+\n", text, flags=re.MULTILINE)
    found = {}
    for title, body in zip(sections[1::2], sections[2::2]):
        keys = re.findall(r"``([A-Z_]+)``", title)
        match = re.search(r"^Defaults?: (.+?)\.(?: \(|$)", body, flags=re.MULTILINE)
        if not keys or not match:
            continue
        values = re.findall(r"``(.+?)``", match.group(1))
        assert len(values) == len(keys), f"the section {title!r} gives {len(values)} defaults for {len(keys)} keys"
        for key, value in zip(keys, values):
            found[key] = ast.literal_eval(value)
    return found


def test_every_setting_is_documented_with_its_default():
    """Every key of conf.DEFAULTS has a section in docs/settings.rst whose Default: line is its default."""
    documented = documented_defaults()
    assert sorted(documented) == sorted(conf.DEFAULTS), "a key is missing from docs/settings.rst, or unknown"
    for key, default in conf.DEFAULTS.items():
        assert documented[key] == default, f"docs/settings.rst gives {key} the default {documented[key]!r}"


def package_modules():
    """Every module of the package, dotted (apps, the management command and migrations aside)."""
    modules = []
    for path in sorted((ROOT / "socketio_views").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if "management" in parts or "migrations" in parts or parts[-1] == "apps" or parts == ("socketio_views", "templatetags"):
            continue
        modules.append(".".join(parts))
    return modules


def test_every_module_has_its_api_page():
    """docs/api/ has one page per module (a subpackage's modules on its page), each in the index."""
    index = (DOCS / "api.rst").read_text()
    for module in package_modules():
        package = next((p for p in ("socketio_views.testing", "socketio_views.compat") if module.startswith(p + ".")), None)
        if package:
            package_page = (DOCS / "api" / f"{package}.rst").read_text()
            assert module in package_page, f"{module} is not on the page of {package}"
            continue
        assert (DOCS / "api" / f"{module}.rst").exists(), f"docs/api/{module}.rst is missing"
        assert f"   api/{module}\n" in index, f"docs/api.rst does not list {module}"


def test_the_tutorial_and_concepts_are_in_the_index():
    """The contents are grouped as Tutorial / Topics / How-to / Reference."""
    index = (DOCS / "index.rst").read_text()
    captions = re.findall(r"^   :caption: (.+)$", index, flags=re.MULTILINE)
    assert captions == ["Tutorial", "Topics", "How-to", "Reference"]
    for name in ("tutorial", "concepts", "faq", "migrating", "glossary", "changes"):
        assert f"   {name}\n" in index


def test_the_js_helpers_settings_and_codes_are_documented():
    """Each default of socketio_views.js is in docs/browser.rst with its value, and its own code in docs/errors.rst."""
    script = (ROOT / "socketio_views" / "static" / "socketio_views" / "socketio_views.js").read_text()
    defaults = re.search(r"const defaults = \{(.*?)\};", script).group(1)
    pairs = re.findall(r"(\w+): ([^,]+)", defaults)
    assert pairs
    for name, value in pairs:
        says("browser.rst", f"``{name}`` (default ``{value.strip()}``)")
    for code in re.findall(r'code: "(\w+)"', script):
        says("errors.rst", f"``{code}``")
        says("browser.rst", f"``{code}``")


#: The longest code line a block shows without scrolling sideways at 1280 px
#: with the furo theme (measured with Chromium: 736 px of 8.1 px characters),
#: and in a block nested in a list or definition (696 px).
CODE_WIDTH, NESTED_CODE_WIDTH = 90, 85


def code_blocks(path):
    """(line number, indent, [lines]) of each code block and literalinclude of an .rst file."""
    from types import SimpleNamespace

    from sphinx.directives.code import LiteralIncludeReader

    lines = path.read_text().splitlines()
    number = 0
    while number < len(lines):
        line = lines[number]
        number += 1
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        include = re.match(r"\.\. literalinclude:: (\S+)", stripped)
        if include:
            options = {}
            while number < len(lines) and re.match(r"\s+:([\w-]+):", lines[number]):
                name, value = re.match(r"\s+:([\w-]+):(.*)", lines[number]).groups()
                options[name] = int(value) if name == "dedent" else value.strip()
                number += 1
            reader = LiteralIncludeReader(
                str(path.parent / include.group(1)), options, SimpleNamespace(source_encoding="utf-8")
            )
            yield number, indent, reader.read()[0].splitlines()
        elif re.match(r"\.\. (code-block|code|sourcecode)::", stripped) or (
            stripped.endswith("::") and not stripped.startswith("..")
        ):
            block, start = [], number
            while number < len(lines) and (not lines[number].strip() or len(lines[number]) - len(lines[number].lstrip()) > indent):
                if not re.match(r"\s+:[\w-]+:", lines[number]) or block:
                    block.append(lines[number])
                number += 1
            body = [text for text in block if text.strip()]
            inner = min((len(text) - len(text.lstrip()) for text in body), default=0)
            yield start, indent, [text[inner:] for text in block]


def test_code_blocks_fit_the_page_at_1280_px():
    """No code line in the docs is wider than a furo page shows at 1280 px without scrolling."""
    too_wide = []
    for path in sorted(DOCS.rglob("*.rst")):
        if "_build" in path.parts:
            continue
        for number, indent, block in code_blocks(path):
            limit = CODE_WIDTH if indent == 0 else NESTED_CODE_WIDTH
            too_wide += [
                f"{path.relative_to(ROOT)}:{number}: {len(text)} > {limit}: {text.strip()[:50]}"
                for text in block
                if len(text) > limit
            ]
    assert too_wide == []


def test_the_tutorial_names_the_supported_versions():
    """The tutorial's Python and Django versions are setup.py's classifiers."""
    setup = (ROOT / "setup.py").read_text()
    pythons = re.findall(r'"Programming Language :: Python :: (3\.\d+)"', setup)
    djangos = re.findall(r'"Framework :: Django :: (\d+\.\d+)"', setup)
    assert pythons and djangos
    says("tutorial.rst", f"You need Python {', '.join(pythons[:-1])} or {pythons[-1]};")
    says("tutorial.rst", f"socketio_views supports Django {', '.join(djangos[:-1])} and {djangos[-1]},")


# Code in the docs comes from tested files.

#: Python blocks written in a page rather than included from a tested file,
#: each with why: {"page.rst:line of the directive": "reason"}. Keep it tiny.
#: ``pycon`` blocks need no entry: tests/test_docs_examples.py runs them as doctests.
UNTESTED_PYTHON_BLOCKS = {}

PYTHON_LANGUAGES = {"python", "python3", "py", "py3", "ipython", "ipython3"}


def looks_like_python(lines):
    """Whether a block with no language (Sphinx then highlights Python) holds Python statements.

    Data (a JSON object, a list) parses as Python too, but only as an
    expression of literals, which is not counted.
    """
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return False
    data = (ast.Constant, ast.Dict, ast.List, ast.Tuple, ast.Set, ast.UnaryOp)
    return any(not (isinstance(node, ast.Expr) and isinstance(node.value, data)) for node in tree.body)


def written_python_blocks(path, root=DOCS):
    """``page:line`` of each Python code block written in an .rst file (not a literalinclude, not pycon)."""
    lines = path.read_text().splitlines()
    for number, line in enumerate(lines):
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        directive = re.match(r"\.\. (?:code-block|code|sourcecode)::\s*(\S*)", stripped)
        literal = stripped.endswith("::") and not stripped.startswith("..")
        if not directive and not literal:
            continue
        body = []
        for text in lines[number + 1:]:
            if text.strip() and len(text) - len(text.lstrip()) <= indent:
                break
            if not (directive and not body and re.match(r"\s+:[\w-]+:", text)):
                body.append(text)
        body = [text for text in body if text.strip()]
        inner = min((len(text) - len(text.lstrip()) for text in body), default=0)
        body = [text[inner:] for text in body]
        language = directive.group(1).lower() if directive else ""
        if language in PYTHON_LANGUAGES or (language in ("", "default") and looks_like_python(body)):
            yield f"{path.relative_to(root).as_posix()}:{number + 1}"


def test_every_python_block_comes_from_a_tested_file():
    """No page writes Python inline: each block is a literalinclude of docs/examples/ or tests/, which tests run.

    docs/examples/ holds the pages' app (``chat``) and project
    (``myproject``); tests/test_docs_examples.py and tests/test_docs_live.py
    import and exercise them, and hold the tests the pages show.
    """
    written = [block for path in sorted(DOCS.rglob("*.rst")) if "_build" not in path.parts for block in written_python_blocks(path)]
    assert [block for block in written if block not in UNTESTED_PYTHON_BLOCKS] == [], (
        "Move these snippets into docs/examples/ (or a test) and literalinclude them"
    )
    assert sorted(set(UNTESTED_PYTHON_BLOCKS) - set(written)) == [], "UNTESTED_PYTHON_BLOCKS lists a block that is gone"


def test_python_includes_come_from_files_a_test_runs():
    """Each Python literalinclude names a file of docs/examples/, tests/, demo/ or the package, all run by tests."""
    tested = ("examples/", "tutorial/", "../tests/", "../demo/", "../socketio_views/")
    for path in sorted(DOCS.rglob("*.rst")):
        for include in re.findall(r"^\s*\.\. literalinclude:: (\S+\.py)$", path.read_text(), flags=re.MULTILINE):
            assert include.startswith(tested), f"docs/{path.name} includes {include}, which no test runs"


def test_the_check_finds_a_written_python_block(tmp_path):
    """written_python_blocks() finds code-block:: python, and a literal block of Python, not JSON or a shell."""
    page = tmp_path / "page.rst"
    page.write_text(
        "Text:\n\n.. code-block:: python\n   :caption: x.py\n\n    import os\n\n"
        "Data::\n\n    {\"a\": 1}\n\nShell::\n\n    $ pip install x\n\n"
        "Code::\n\n    router.register(\"x\", View)\n\n"
        ".. code-block:: pycon\n\n    >>> 1\n    1\n"
    )
    assert list(written_python_blocks(page, root=tmp_path)) == ["page.rst:3", "page.rst:16"]
