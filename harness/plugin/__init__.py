"""The pytest plugin: options, fixtures over MailTopology, and the mail logs on every failure report.

Fixtures:
    mail_topology          the default topology, started once per session (per xdist worker), reset per test
    mail_topology_factory  start a topology of your own (a TopologySpec); stopped after the test
    mail_fault             apply faults for the rest of the test (annotate it with `FaultApplier`)
    mail_topology_with_mock  the default topology with example.edu a programmable mock SMTP server
    mta                    the server under test of the conformance suite (yours with --mta-config)
    mock_smtp              the mock SMTP server in-process, without Docker
    mail_explore           search the fault space for broken guarantees within a budget (harness.explore)

Reporting is done by plugin objects (harness.plugin.reporting) registered in pytest_configure, as pytest's own junitxml
does: `_Summary` (--mailharness-summary) and `_Report` (--mailharness-html/--mailharness-records). What is known
about one test (its outcome by phase, the topologies it used) is kept in `item.stash`.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Generator, Iterator
from typing import Any, Protocol

import pytest

from ..access import MODES, NoAccessPath
from ..engine import labels
from ..engine.docker import EngineUnavailable, engine_host
from ..faults import Fault
from ..mock import MockSMTP
from ..mta.base import ConfigRefused
from ..mta.facts import ProbeError
from ..mta.versions import KINDS as MTA_KINDS
from ..mta.versions import known_releases, release
from ..mta.versions import label as mta_label
from ..report.outcomes import label
from ..sut.byoc import (
    ConfigError,
    config_mta,
    relayhost_node,
    relayhost_script,
    table_options,
    topology_for_config,
)
from ..sut.conformance import Target, judged
from ..topology import TopologySpec, default_topology, topology_with_mock_next_hop
from ..world import MailTopology
from .reporting import _USED, MOCK_GROUP, _Access, _counts, _Order, _Report, _Summary
from .settings import KEEP_CHOICES, Settings, apply_mta

log = logging.getLogger("mailharness")

# Options with hooks of their own: --mailharness-shard=K/N, --mailharness-keep-dsns=DIR; and xdist's scheduler
# under --dist loadgroup, which keeps each worker on the topologies it has started
pytest_plugins = ["harness.plugin.shard", "harness.plugin.keepdsns", "harness.plugin.schedule"]

_OUTCOMES = pytest.StashKey[dict[str, str]]()  # per test: "passed", "failed" or "skipped", by phase
_SETTINGS = pytest.StashKey[Settings]()
_KEPT = pytest.StashKey[list[str]]()
_STOOD_IN = pytest.StashKey[tuple[str, ...]]()  # --mta-config: the services the node stands in for
_SUMMARY = pytest.StashKey[_Summary]()
_REPORT = pytest.StashKey[_Report]()


class FaultApplier(Protocol):
    """The `mail_fault` fixture: `def test_x(mail_fault: FaultApplier) -> None: mail_fault(DiskFull("library"))`.
    Applies the faults for the rest of the test; they are removed when it ends."""

    def __call__(self, *faults: Fault) -> None: ...


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("mailharness", "mail harness (real MTAs in Docker)")
    g.addoption("--mailharness-keep", dest="mailharness_keep", choices=KEEP_CHOICES, default=None,
                help="keep topologies' containers after the session: never (default), on-failure, always")
    g.addoption("--mailharness-ready-timeout", dest="mailharness_ready_timeout", default=None,
                help="seconds to wait for a topology's servers to answer (default 30)")
    g.addoption("--mailharness-summary", dest="mailharness_summary", action="store_true", default=False,
                help="print a table of scenarios, verdicts and times at the end")
    g.addoption("--mailharness-html", dest="mailharness_html", default=None, metavar="PATH",
                help="write an HTML report: per scenario, the message's path hop by hop, and the DSN findings")
    g.addoption("--mailharness-records", dest="mailharness_records", default=None, metavar="PATH",
                help="write the report's records, one JSON object per scenario and line")
    g.addoption("--mta-config", dest="mta_config", default=None, metavar="[NODE=]DIR",
                help="run the conformance suite against YOUR configuration in DIR (Postfix's main.cf, or an Exim "
                     "configuration: its configure, or Debian's folder of it), in place of NODE (default: library); "
                     "--mailharness-mta=NODE=exim[@VERSION] says which Exim runs it")
    g.addoption("--mta-recipient", dest="mta_recipient", default=None, metavar="ADDRESS",
                help="a recipient your configuration accepts (when its tables cannot be listed)")
    g.addoption("--mta-domain", dest="mta_domain", action="append", default=[], metavar="DOMAIN",
                help="a domain your configuration serves (when its domains are in tables the harness cannot read, "
                     "such as mysql:); repeatable")
    g.addoption("--mta-table", dest="mta_table", action="append", default=[], metavar="PARAM=FILE",
                help="a readable copy (texthash: one 'key value' a line) of the tables PARAM names, used in their "
                     "place (for SQL, LDAP... tables); repeatable")
    g.addoption("--mailharness-access", dest="mailharness_access", choices=MODES, default=None,
                help="how the tests reach the servers: auto (default: directly when a probe works, else through a "
                     "gateway container), direct, or gateway (env MAILHARNESS_ACCESS)")
    g.addoption("--mailharness-mta", dest="mailharness_mta", action="append", default=None,
                metavar="[NODE=]KIND[@VERSION]",
                help="the MTA and release the topologies' nodes run, e.g. postfix@3.10 (every Postfix node that "
                     "names no version), library=postfix@3.10 (that node), exim (every MTA node runs Exim) or "
                     "library=exim@4.96; repeatable; ini mailharness_mta, env MAILHARNESS_MTA. Releases: Postfix "
                     + known_releases("postfix") + "; Exim " + known_releases("exim"))
    parser.addini("mailharness_keep", "never | on-failure | always", default="")
    parser.addini("mailharness_mta", "[NODE=]KIND[@VERSION], one a line (e.g. postfix@3.10)", type="linelist",
                  default=[])
    parser.addini("mailharness_access", "auto | direct | gateway", default="")
    parser.addini("mailharness_ready_timeout", "seconds to wait for servers to answer", default="")


def declare_options(parser: Any) -> None:
    """Declare on `parser` (pytest's, or anything with its getgroup, addoption and addini) every option and ini
    setting of this plugin and of the plugins it loads (`pytest_plugins`; harness.plugin.schedule declares none):
    what the API reference and the docs' tests list without running pytest."""
    pytest_addoption(parser)
    for name in pytest_plugins:
        module = importlib.import_module(name)
        if hasattr(module, "pytest_addoption"):
            module.pytest_addoption(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "docker: needs a Docker engine (end-to-end)")
    config.addinivalue_line("markers", "requirement(ref, hint): a conformance requirement (RFC reference, fix hint)")
    try:
        config.stash[_SETTINGS] = Settings.from_pytest(config)
    except ValueError as exc:  # a value of an option, the ini file or the environment: said as pytest says usage
        raise pytest.UsageError(str(exc)) from None
    config.stash[_KEPT] = []
    config.pluginmanager.register(_Access(), "mailharness-access")
    records, html = config.getoption("mailharness_records", None), config.getoption("mailharness_html", None)
    order = _Order()
    if _settings(config).summary or records or html:
        config.pluginmanager.register(order, "mailharness-order")
    if _settings(config).summary:
        config.stash[_SUMMARY] = _Summary(order)
        config.pluginmanager.register(config.stash[_SUMMARY], "mailharness-summary")
    if records or html:
        config.stash[_REPORT] = _Report(config, records, html, order)
        config.pluginmanager.register(config.stash[_REPORT], "mailharness-report")


# xdist's plugin as pytest names it: "xdist" when loaded by its entry point, "xdist.plugin" when named with -p
# (`mailharness run` and `check`, which turn autoloading off: harness.cli._PLUGINS)
_XDIST = ("xdist", "xdist.plugin")


@pytest.hookimpl(tryfirst=True)  # before xdist's own, which reads the groups (on each worker, once collected)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The tests on the topology with a mock next hop form one pytest-xdist group: under `--dist loadgroup` (what
    `mailharness run` uses) one worker starts that topology, instead of every worker starting its own."""
    if not any(config.pluginmanager.hasplugin(name) for name in _XDIST):
        return
    for item in items:
        if "mail_topology_with_mock" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group(MOCK_GROUP))
            _group_in_nodeid(config, item)


def _group_in_nodeid(config: pytest.Config, item: pytest.Item) -> None:
    """xdist sends a group to one worker by the "@group" end of the node id, which its own hook writes in
    `item._nodeid`. pytest 9 keeps node ids in `item._id` and no longer reads `_nodeid` (seen with pytest 9.2 and
    xdist 3.8: the group was lost, and both workers started the mock topology), so on a worker of a loadgroup
    run the end is written where pytest reads it. Where pytest's internals differ, nothing is done: the tests
    still run, only without the group."""
    if getattr(config, "workerinput", None) is None or not getattr(config.option, "loadgroup", False):
        return  # (xdist sets option.loadgroup on its workers, where "dist" is "no")
    if not hasattr(item, "_id") or item.nodeid.endswith(f"@{MOCK_GROUP}"):
        return
    try:
        from _pytest.nodeid import coerce_node_id
    except ImportError:
        return
    item._id = coerce_node_id(f"{item.nodeid}@{MOCK_GROUP}")


def pytest_unconfigure(config: pytest.Config) -> None:
    summary, report = config.stash.get(_SUMMARY, None), config.stash.get(_REPORT, None)
    if summary is not None:
        del config.stash[_SUMMARY]
        config.pluginmanager.unregister(summary)
    if report is not None:
        del config.stash[_REPORT]
        config.pluginmanager.unregister(report)
    for name in ("mailharness-access",):
        plugin = config.pluginmanager.get_plugin(name)
        if plugin is not None:
            config.pluginmanager.unregister(plugin)
    order = config.pluginmanager.get_plugin("mailharness-order")
    if order is not None:
        config.pluginmanager.unregister(order)


def pytest_report_header(config: pytest.Config) -> list[str]:
    s = _settings(config)
    extra = f", your configuration: {config.getoption('mta_config')}" if config.getoption("mta_config", None) else ""
    how = {"auto": "auto (direct when a probe reaches the nodes, else a gateway; chosen at the first topology's start)",
           "direct": "direct (forced)", "gateway": "gateway (forced)"}[s.access]
    return [f"mailharness: keep={s.keep}, engine {engine_host()}, access={how}, session {labels.session_id()}"
            f"{extra} (`mailharness doctor` checks the engine)", f"mailharness: {_releases_line(s)}"]


def _releases_line(s: Settings) -> str:
    """The MTA release each node of the default topology runs: "Postfix 3.10 (trixie) on store, edu; Exim 4.98
    (trixie) on library"."""
    by: dict[tuple[str, str], list[str]] = {}
    for n in apply_mta(default_topology(), s.mta):
        if n.kind in MTA_KINDS:
            by.setdefault((n.kind, n.version), []).append(n.name)
    chosen = f" (--mailharness-mta {' '.join(map(str, s.mta))})" if s.mta else ""
    return "; ".join(f"{mta_label(kind, v)} ({release(kind, v).debian}) on {', '.join(names)}"
                     for (kind, v), names in by.items()) + chosen


def _settings(config: pytest.Config) -> Settings:
    return config.stash[_SETTINGS]


def _start(spec: TopologySpec, settings: Settings) -> MailTopology:
    spec = apply_mta(spec, settings.mta)
    try:
        return MailTopology(spec, ready_timeout=settings.ready_timeout, access=settings.access).start()
    except (EngineUnavailable, NoAccessPath) as exc:
        pytest.fail(f"mailharness: {exc}", pytrace=False)


def _finish(topo: MailTopology, request: pytest.FixtureRequest, failed: bool) -> None:
    keep = _settings(request.config).keep
    if keep == "always" or (keep == "on-failure" and failed):
        topo.keep()
        request.config.stash[_KEPT].append(topo.id)
    else:
        topo.stop()


def _session_world(request: pytest.FixtureRequest, spec: TopologySpec) -> Iterator[MailTopology]:
    topo = _start(spec, _settings(request.config))
    yield topo
    _finish(topo, request, request.session.testsfailed > 0)


def _for_test(topo: MailTopology, request: pytest.FixtureRequest) -> MailTopology:
    """Reset the session's topology for this test, and remember it for the failure report."""
    topo.reset()
    request.node.stash.setdefault(_USED, []).append(topo)
    return topo


@pytest.fixture(scope="session")
def _mailharness_world(request: pytest.FixtureRequest) -> Iterator[MailTopology]:
    yield from _session_world(request, default_topology())


@pytest.fixture
def mail_topology(_mailharness_world: MailTopology, request: pytest.FixtureRequest) -> MailTopology:
    """The default topology (store.example/jack, library.example/jill, example.edu/jill), freshly reset."""
    return _for_test(_mailharness_world, request)


@pytest.fixture
def mail_fault(mail_topology: MailTopology) -> Generator[FaultApplier]:
    """Apply faults to the default topology for the rest of the test: `mail_fault(DiskFull("library"))`.
    They are removed when the test ends, the queues emptied first (MailTopology.drop_queues: what a fault held back
    must not go out once it is undone), and by the next reset in any case. Annotate with `FaultApplier`."""
    removes: list[Callable[[], None]] = []

    def apply(*faults: Fault) -> None:  # together: each node they touch is changed once
        removes.append(mail_topology.apply(*faults))

    yield apply
    if removes:  # the queues first: what a fault held back must not go out once it is undone (drop_queues)
        mail_topology.drop_queues()
    for remove in reversed(removes):
        remove()


@pytest.fixture(scope="session")
def _mailharness_mock_world(request: pytest.FixtureRequest) -> Iterator[MailTopology]:
    yield from _session_world(request, topology_with_mock_next_hop())


@pytest.fixture
def mail_topology_with_mock(_mailharness_mock_world: MailTopology, request: pytest.FixtureRequest) -> MailTopology:
    """store.example and library.example as in the default topology, and example.edu a programmable mock SMTP
    server (node "edu"): script its replies, read what it received and with which parameters."""
    return _for_test(_mailharness_mock_world, request)


@pytest.fixture(scope="session")
def _mailharness_target(request: pytest.FixtureRequest) -> Iterator[Target]:
    opt = request.config.getoption("mta_config")
    rcpt = request.config.getoption("mta_recipient")
    if not opt:
        world = request.getfixturevalue("_mailharness_world")
        yield Target(world, "library", "library.example", rcpt or "jill@library.example")
        return
    node, _, directory = opt.rpartition("=")
    node = node or "library"
    kind, version = config_mta(directory, node, _settings(request.config).mta)
    try:
        spec, info = topology_for_config(directory, node, recipient=rcpt or "",
                                         domains=request.config.getoption("mta_domain"),
                                         tables=table_options(request.config.getoption("mta_table")),
                                         kind=kind, version=version)
    except (ConfigError, ProbeError, OSError) as exc:
        pytest.exit(f"mailharness: --mta-config {opt}: {exc}", returncode=4)
    spec = apply_mta(spec, _settings(request.config).mta)
    try:
        topo = MailTopology(spec, ready_timeout=_settings(request.config).ready_timeout,
                            access=_settings(request.config).access).start()
    except ConfigRefused as exc:
        pytest.exit(f"mailharness: {exc}", returncode=4)
    except (EngineUnavailable, NoAccessPath) as exc:
        pytest.fail(f"mailharness: {exc}", pytrace=False)
    recipient = info.recipients[0] if info.recipients else ""
    request.config.stash[_STOOD_IN] = info.stand_ins
    stand_in = relayhost_node(info)
    if stand_in is not None:  # the relayhost's standing behaviour: every reset returns to it
        topo.mock(stand_in.name).baseline = relayhost_script(info)
    yield Target(topo, node, info.domain, recipient, info=info)
    _finish(topo, request, request.session.testsfailed > 0)


@pytest.fixture
def mta(_mailharness_target: Target, request: pytest.FixtureRequest) -> Target:
    """The server under test (conformance suite): reset, with what is known about its configuration."""
    _for_test(_mailharness_target.world, request)
    return _mailharness_target


@pytest.fixture
def mail_explore(request: pytest.FixtureRequest) -> Any:
    """Search the fault space for broken guarantees from your suite: `report = mail_explore(budget=30)`, on the
    default topology, or on your configuration with --mta-config (harness.explore.fixture.Explore)."""
    from ..explore.fixture import Explore
    from ..explore.scenario import Targets

    if request.config.getoption("mta_config"):
        target: Target = request.getfixturevalue("mta")
        return Explore(target.world, "config", Targets(target.domain, target.recipient, target.node))
    return Explore(request.getfixturevalue("mail_topology"))


@pytest.fixture
def mock_smtp() -> Iterator[MockSMTP]:
    """The programmable mock SMTP server in-process (no Docker): on 127.0.0.1, a free port (`mock_smtp.port`).
    Script it with `mock_smtp.script = Script(...)`; read `mock_smtp.sessions` and `mock_smtp.messages`."""
    with MockSMTP() as server:
        yield server


@pytest.fixture
def mail_topology_factory(request: pytest.FixtureRequest) -> Generator[Callable[[TopologySpec], MailTopology]]:
    """Start topologies of your own; each is stopped (or kept, per --mailharness-keep) after the test."""
    started: list[MailTopology] = []

    def make(spec: TopologySpec) -> MailTopology:
        topo = _start(spec, _settings(request.config))
        started.append(topo)
        request.node.stash.setdefault(_USED, []).append(topo)
        return topo

    yield make
    failed = _failed(request.node)
    for topo in started:
        _finish(topo, request, failed)


def _failed(item: pytest.Item) -> bool:
    """Whether a phase of this test (so far) failed."""
    return "failed" in item.stash.get(_OUTCOMES, {}).values()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    req = item.get_closest_marker("requirement")
    if call.when == "setup":  # JUnit XML carries these as <property> elements; the summary reads "doc"
        obj = getattr(item, "obj", None)
        doc = (getattr(obj, "__doc__", None) or "").strip().splitlines()
        item.user_properties.append(("doc", doc[0] if doc else ""))
        if req is not None:
            item.user_properties += [("requirement", str(req.kwargs.get("ref", ""))),
                                     ("fix_hint", str(req.kwargs.get("hint", "")))]
    rep: pytest.TestReport = yield
    item.stash.setdefault(_OUTCOMES, {})[rep.when] = rep.outcome
    if call.when == "call":  # the path each topology of the test was reached on (JUnit XML; the terminal summary)
        for topo in item.stash.get(_USED, []):
            rep.user_properties.append(("mailharness_access", topo.access.summary))
            rep.user_properties.append(("mailharness_mta", topo.releases()))
    if req is not None and _counts(rep):  # JUnit: PASS, FAIL or NOT JUDGED, and why not judged
        outcome, why = judged(rep.outcome, rep.longrepr, getattr(rep, "wasxfail", None))
        props = [("verdict", label(outcome))] + ([(outcome.replace("-", "_"), why)] if why else [])
        item.user_properties += props  # junitxml writes the teardown report's (a copy of the item's)
        rep.user_properties = [*rep.user_properties, *props]
    if rep.failed:
        if req is not None:
            target = item.funcargs.get("mta") if hasattr(item, "funcargs") else None
            topic = req.kwargs.get("causes", "")
            seen = target.causes(topic) if isinstance(target, Target) else []
            general = (target.hint(topic) if isinstance(target, Target) else "") or req.kwargs.get("hint", "")
            hint = "; ".join(seen) + (f" (in general: {general})" if seen else general)
            rep.sections.append(("mailharness requirement", f"{req.kwargs.get('ref', '')}\nfix hint: {hint}"))
            # the hint with this configuration's own causes, in JUnit and the HTML report as in the terminal
            item.user_properties[:] = [(k, hint if k == "fix_hint" else v) for k, v in item.user_properties]
            rep.user_properties = [*rep.user_properties, ("fix_hint", hint)]
        for topo in item.stash.get(_USED, []):
            if topo.transcripts:
                rep.sections.append((f"mailharness {topo.id}: SMTP transcripts",
                                     "\n\n".join(t.render() for t in topo.transcripts)))
            rep.sections.append((f"mailharness {topo.id}: mail logs", topo.report()))
    return rep


def pytest_assertrepr_compare(config: pytest.Config, op: str, left: object, right: object) -> list[str] | None:
    try:
        from ..dsn.assertions import assertrepr_compare
    except ImportError:
        return None
    return assertrepr_compare(op, left, right)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    kept = config.stash.get(_KEPT, [])
    if kept:
        terminalreporter.write_sep("-", "mailharness: topologies kept running")
        for k in kept:
            terminalreporter.write_line(f"  {k}   (list: `mailharness up --list`; remove: `mailharness down`)")
    if config.getoption("mta_config", None):
        from ..mta import overrides

        terminalreporter.write_sep("-", f"mailharness: what the harness changed in {config.getoption('mta_config')}")
        node, _, directory = config.getoption("mta_config").rpartition("=")  # (on the controller too, under xdist)
        for what, why in overrides(config_mta(directory, node or "library", _settings(config).mta)[0]):
            terminalreporter.write_line(f"  {what}  ({why})")
        for stand_in in config.stash.get(_STOOD_IN, ()):
            terminalreporter.write_line(f"  stood in for: {stand_in}")
