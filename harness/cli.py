"""mailharness: doctor | images build | up | down | run | check | matrix | examples | report merge | dsn-lint | load |
explore"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def _doctor(args: argparse.Namespace) -> int:
    from .engine import docker as eng
    from .engine import images
    from .engine.base import BuildError
    from .engine.docker import EngineUnavailable

    ok = True
    try:
        info = eng.info()
        print(f"engine:  ok, Docker {info.version} at {info.host} ({info.storage_driver}, {info.os})")
    except EngineUnavailable as exc:
        print(f"engine:  MISSING: {exc}")
        return 1
    from .access import mode_from
    from .access.where import standpoint

    where = standpoint()
    print(f"access:  {mode_from()} (MAILHARNESS_ACCESS or --mailharness-access); auto probes the direct path at each "
          f"topology's start and else starts a gateway, reached {where.why}")
    try:
        from .mta import versions as mta
        from .mta.versions import KINDS

        for name in images.IMAGE_NAMES:
            releases = mta.releases(name) if name in KINDS else {}
            for version in releases or [""]:
                t = images.tag(name, version)
                have = images.exists(t)
                ok &= have
                if version:
                    r, dflt = releases[version], ", the default" if version == mta.default_version(name) else ""
                    what = f"{mta.label(name, version)} (Debian {r.debian}{dflt})"
                else:
                    what = f"{name}, on Debian's {images.HELPER_SUITE} base"
                print(f"image:   {t:45} {'present' if have else 'missing: run `mailharness images build`'}  {what}")
        bases = dict.fromkeys((r.debian, r.base) for k in KINDS for r in mta.releases(k).values())
        for suite, folder in bases:
            bt = images.base_tag(suite, folder)
            print(f"base:    {bt:45} {'present' if images.exists(bt) else 'missing (built with the images)'}")
    except BuildError as exc:
        print(f"images:  {exc}")
        return 1
    print("ready" if ok else "not ready: see above")
    return 0 if ok else 1


def _images(args: argparse.Namespace) -> int:
    from .engine import images

    if args.images_cmd == "prune":
        gone = images.remove(current=False, stale=True)
        print("\n".join(f"removed {t}" for t in gone) or "nothing to remove")
        return 0
    t0 = time.monotonic()
    tags = images.ensure(force=args.force, route=args.route)  # every release of every MTA, dns and mock-smtp
    for name, t in tags.items():
        print(f"{name}: {t}")
    print(f"images ready in {time.monotonic() - t0:.1f}s")
    return 0


def _up(args: argparse.Namespace) -> int:
    from .engine import labels
    from .world import MailTopology

    if args.list:
        for tid, desc in labels.kept().items():
            print(desc if args.json else f"{tid}: " + ", ".join(f"{n['name']}={n['ip']}" for n in json.loads(desc)))
        return 0
    from .plugin.settings import apply_mta, parse_mta
    from .topology import default_topology

    topo = MailTopology(apply_mta(default_topology(), parse_mta(args.mta))).start()
    topo.keep()
    nodes = topo.describe()
    if args.json:
        print(json.dumps(nodes))
    else:
        print(f"topology {topo.id} is up ({topo.timings.total:.2f}s); it keeps running until `mailharness down`.")
        print(f"access: {topo.access}")
        for n in nodes:
            print(f"  {n['name']:8} {n['kind']:8} {n['domain']:18} {n['hostname']:24} {n['ip']}")
        first = nodes[0]
        if topo.access.mode == "direct":
            print(f"try: swaks --server {first['ip']} --from jack@store.example --to jill@library.example")
        else:  # the gateway carries the harness's own tunnels only: a client of yours goes in on the network
            print("the node addresses do not route from here (the harness reaches them through its gateway); "
                  f"explore from inside: docker exec -it $(docker ps -q -f label={labels.TOPOLOGY}={topo.id} "
                  f"-f label={labels.NODE}={first['name']}) sh")
    return 0


def _down(args: argparse.Namespace) -> int:
    from .engine import labels

    total = [0, 0]
    if args.all:
        total = list(labels.remove({"label": [labels.PID]}))
        for tid in labels.kept():
            labels.unmark_kept(tid)
    else:
        for tid in args.topology or list(labels.kept()):
            c, n = labels.remove({"label": [f"{labels.TOPOLOGY}={tid}"]})
            total[0] += c
            total[1] += n
            labels.unmark_kept(tid)
    print(f"removed {total[0]} containers and {total[1]} networks")
    return 0


# The CLI imported the harness (and faker) before pytest starts: nothing to rewrite there, nothing to warn about.
_QUIET = ["-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning"]
# The bundled suites' pytest loads the plugins they use, named (the harness's and xdist), and no other installed one
# (PYTEST_DISABLE_PLUGIN_AUTOLOAD: `_bundled_pytest`; `-p NAME` loads another). Autoloaded plugins cost every pytest
# process (the main one and each xdist worker) their import, and pytest marks every module of their distributions
# for assertion rewriting: faker's hundreds of modules, and the harness's, were parsed and rewritten in each process
# as they were imported, since nothing may cache the result where PYTHONDONTWRITEBYTECODE is set (CI, containers):
# 3.5 s of CPU in a main job of 80 scenarios on the 2-core reference.
_PLUGINS = ["-p", "harness.plugin", "-p", "xdist.plugin"]


def _bundled_pytest(args: list[str]) -> int:
    """pytest.main over the bundled suites with only the plugins they use (_PLUGINS); the xdist workers inherit
    the environment that says so."""
    import pytest

    before = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        return int(pytest.main([*_PLUGINS, *args]))
    finally:  # as it was: a caller in the same process (a test) runs its own pytest afterwards
        if before is None:
            del os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"]
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = before


def _suites() -> Path:
    from .bundled import folder

    return folder("suites")


def _report_opts(args: argparse.Namespace, rest: list[str]) -> list[str]:
    """run's and check's reports as the plugin's options: the HTML report (reports/mailharness.html unless --html
    PATH or --mailharness-html chose the place), JUnit XML (--junitxml PATH) and the DSNs kept (--keep-dsns DIR)."""
    html = [] if any(a.startswith("--mailharness-html") for a in rest) else \
        [f"--mailharness-html={args.html or 'reports/mailharness.html'}"]
    return [*html, *([f"--junitxml={args.junitxml}"] if args.junitxml else []),
            *([f"--mailharness-keep-dsns={args.keep_dsns}"] if args.keep_dsns else [])]


def _say_junit(args: argparse.Namespace) -> None:
    """Say where the JUnit XML went (pytest says it only when not quiet, and run and check are quiet)."""
    if args.junitxml:
        path = Path(args.junitxml).resolve()
        print(f"mailharness: JUnit XML written to {path}" if path.is_file() else
              f"mailharness: no JUnit XML at {path}: the run stopped before pytest wrote it")


def _add_reports(p: argparse.ArgumentParser) -> None:
    """--html PATH, --junitxml PATH, --keep-dsns DIR: where run and check write what they found."""
    p.add_argument("--html", default="", metavar="PATH",
                   help="where to write the HTML report (default reports/mailharness.html); the run says where it "
                        "wrote it")
    p.add_argument("--junitxml", default="", metavar="PATH", help="also write JUnit XML there (pytest's own, with "
                                                                  "each requirement's verdict as properties)")
    p.add_argument("--keep-dsns", default="", metavar="DIR",
                   help="save every DSN each test saw in DIR, as .eml files named after the test, for `mailharness "
                        "dsn-lint`; the HTML report links to them (the plugin's --mailharness-keep-dsns)")


def _workers(rest: list[str]) -> list[str]:
    """In parallel by default: one pytest-xdist worker (each with its own topology) per usable core and one more,
    unless the arguments already say (`-n 0` runs serially). A scenario spends part of its time waiting on the
    servers' clocks (a 1 s time-out, a queue run): the extra worker's tests run in those waits (on the 2-core
    reference, three workers took 24 to 28 s where two took 28 to 31, on Postfix and on Exim alike). A single core
    runs serially. `--dist loadgroup`: the tests on the topology with a mock next hop go to one worker
    (harness.plugin groups them), so only one worker starts that second topology."""
    if any(a.startswith(("-n", "--numprocesses", "--dist")) or a in ("no:xdist", "-pno:xdist") for a in rest):
        return []
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return ["-n", str(cores + 1), "--dist", "loadgroup"] if cores > 1 else []


def _run(args: argparse.Namespace, rest: list[str]) -> int:
    code = _bundled_pytest([str(_suites()), *_QUIET, "--mailharness-summary", "-q",
                            *_workers(rest), *_report_opts(args, rest), *_mta_opts(args), *rest])
    _say_junit(args)
    return code


def _mta_opts(args: argparse.Namespace) -> list[str]:
    """`--mta postfix@3.10` (repeatable) as the plugin's --mailharness-mta."""
    return [f"--mailharness-mta={v}" for v in getattr(args, "mta", None) or []]


def _check(args: argparse.Namespace, rest: list[str]) -> int:
    """The conformance suite against a configuration directory: one command, one verdict per requirement."""
    from .bundled import NotBundled
    from .errors import UsageError
    from .mta.facts import ProbeError
    from .sut.byoc import ConfigError
    from .sut.options import describe, from_args

    try:
        user = from_args(args, args.directory, args.node)
    except UsageError as exc:
        print(f"mailharness check: {exc}", file=sys.stderr)
        return 2
    except NotBundled as exc:
        print(f"mailharness check: {exc}", file=sys.stderr)
        return 4
    if user is None:
        print("mailharness check: give a configuration directory or --example NAME (one of them)", file=sys.stderr)
        return 2
    try:
        info = user.inspect()
    except (ConfigError, ProbeError) as exc:
        print(f"mailharness check: {exc}", file=sys.stderr)
        return 4
    first, *more = describe(user, info)
    print(f"mailharness check: {first}")
    for line in more:
        print(line)
    code = _bundled_pytest([str(_suites() / "conformance"), *_QUIET, "--mailharness-summary",
                            "-q", "--tb=short", *user.pytest_options(), *_report_opts(args, rest), *rest])
    _say_junit(args)
    return code


def _examples() -> int:
    from .bundled import examples

    for name, path in examples().items():
        print(f"{name:24} {path}")
    return 0


def _report_merge(args: argparse.Namespace) -> int:
    from .report.merge import MergeError, merge

    if not (args.html or args.records or args.junit):
        print("mailharness report merge: say what to write (--html, --records and/or --junit)", file=sys.stderr)
        return 2
    try:
        written = merge(args.inputs, html=args.html, records=args.records, junit=args.junit)
    except MergeError as exc:
        print(f"mailharness report merge: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(f"written: {path}")
    return 0


def parser() -> argparse.ArgumentParser:
    """The command line's parser: every command and option (`mailharness dsn-lint` has its own:
    harness.dsn.lint). The API reference is generated from it."""
    from .sut.options import add_config_arguments, add_mta

    p = argparse.ArgumentParser(prog="mailharness", description="End-to-end mail tests with real MTAs in Docker.")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("doctor", help="is a Docker engine reachable, are the images built, what to do if not")
    img = sub.add_parser("images", help="image management")
    isub = img.add_subparsers(dest="images_cmd", required=True)
    b = isub.add_parser("build", help="build the images that are missing (offline when no registry answers)")
    b.add_argument("--force", action="store_true", help="rebuild even if the tags exist")
    b.add_argument("--route", choices=["auto", "pull", "offline"], default="", help="how to get the base image")
    isub.add_parser("prune", help="remove the images older inputs left behind (keeps the current ones)")
    u = sub.add_parser("up", help="start the default topology and leave it running")
    u.add_argument("--json", action="store_true", help="print the nodes as JSON (name, domain, hostname, ip)")
    u.add_argument("--list", action="store_true", help="list the topologies left running")
    add_mta(u)
    d = sub.add_parser("down", help="remove the topologies `up` (or a kept session) left running")
    d.add_argument("--all", action="store_true", help="remove every mailharness container and network on this host")
    d.add_argument("topology", nargs="*", help="only these topologies (ids from `mailharness up --list`)")
    r = sub.add_parser("run", help="run the bundled scenarios against the default topology (extra args go to "
                                   "pytest)")
    _add_reports(r)
    add_mta(r)
    c = sub.add_parser("check", help="run the conformance suite against YOUR mail server's configuration directory "
                                     "(Postfix's or Exim's)")
    c.add_argument("directory", nargs="?", default="",
                   help="a directory with Postfix's main.cf (and master.cf and the tables it names), or an Exim "
                        "configuration (its configure, or Debian's folder of it); --mta exim[@VERSION] says which "
                        "Exim runs it (`mailharness check -h` and docs/conformance.md say more)")
    c.add_argument("--node", default="library", help="the node of the default topology it replaces (library)")
    _add_reports(c)
    add_config_arguments(c)
    from .matrix.command import add_arguments as matrix_arguments

    matrix_arguments(sub.add_parser("matrix", help="the conformance requirements on every MTA release with its stock "
                                                   "configuration, as one table (docs/conformance-matrix.md); "
                                                   "--check PATH compares a fresh run with it"))
    sub.add_parser("examples", help="list the bundled example configurations for `mailharness check`")
    rep = sub.add_parser("report", help="reports: merge the shards of a CI matrix (--mailharness-shard=K/N)")
    rsub = rep.add_subparsers(dest="report_cmd", required=True)
    m = rsub.add_parser("merge", help="one report from the shards' records (.jsonl) and JUnit files (.xml)")
    m.add_argument("inputs", nargs="+", help="each shard's --mailharness-records (.jsonl) and --junitxml (.xml) file")
    m.add_argument("--html", default="", help="write the merged HTML report here")
    m.add_argument("--records", default="", help="write the merged records (JSON Lines) here")
    m.add_argument("--junit", default="", help="write the merged JUnit XML here")
    sub.add_parser("dsn-lint", help="check DSN messages against the RFC checklist (see `mailharness dsn-lint -h`)")
    from .loadgen.command import add_arguments as load_arguments

    load_arguments(sub.add_parser("load", help="N messages from C clients; every recipient accounted for, or exit 1"))
    from .explore.options import add_arguments as explore_arguments

    explore_arguments(sub.add_parser("explore", help="search the fault space for broken mail guarantees; write a "
                                                     "regression test per violation (exit 1 when one is found)"))
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "dsn-lint":  # pure Python: none of the Docker machinery is imported
        from .dsn.lint import main as lint_main

        return int(lint_main(argv[1:]))
    from .engine.base import BuildError
    from .engine.docker import EngineUnavailable

    p = parser()
    args, rest = p.parse_known_args(argv)
    if rest and args.cmd not in ("run", "check"):
        p.error(f"unrecognized arguments: {' '.join(rest)}")
    if getattr(args, "mta", None):
        from .plugin.settings import parse_mta

        try:
            parse_mta(args.mta)
        except ValueError as exc:
            p.error(str(exc))
    try:
        if args.cmd == "doctor":
            return _doctor(args)
        if args.cmd == "images":
            return _images(args)
        if args.cmd == "up":
            return _up(args)
        if args.cmd == "down":
            return _down(args)
        if args.cmd == "run":
            return _run(args, rest)
        if args.cmd == "check":
            return _check(args, rest)
        if args.cmd == "matrix":
            from .matrix.command import command as matrix_command

            return matrix_command(args)
        if args.cmd == "examples":
            return _examples()
        if args.cmd == "report":
            return _report_merge(args)
        if args.cmd == "load":
            from .loadgen.command import command as load_command

            return load_command(args)
        if args.cmd == "explore":
            from .explore.command import command as explore_command

            return explore_command(args)
    except EngineUnavailable as exc:
        print(f"mailharness: {exc}", file=sys.stderr)
        return 3
    except BuildError as exc:
        print(f"mailharness: image build failed: {exc}", file=sys.stderr)
        return 4
    p.error(f"unknown command {args.cmd}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
