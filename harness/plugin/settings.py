"""One frozen settings object: command line > ini file > environment > defaults."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, cast

from ..mta import versions as mta
from ..mta.versions import KINDS as MTA_KINDS
from ..topology import NodeKind, TopologySpec

Keep = Literal["never", "on-failure", "always"]
KEEP_CHOICES: tuple[Keep, ...] = ("never", "on-failure", "always")
# Every environment variable the harness reads, with what it sets: the API reference lists them from here, and
# tests/test_docs.py fails on a MAILHARNESS_ variable in harness/ or ci/ that is not here.
ENVIRONMENT: dict[str, str] = {
    "MAILHARNESS_KEEP": "keep topologies' containers after the session: never (default), on-failure, always "
                        "(--mailharness-keep, ini mailharness_keep)",
    "MAILHARNESS_READY_TIMEOUT": "seconds to wait for a topology's servers to answer (default 30; "
                                 "--mailharness-ready-timeout, ini mailharness_ready_timeout)",
    "MAILHARNESS_ACCESS": "how the tests reach the servers: auto (default), direct or gateway (--mailharness-access, "
                          "ini mailharness_access; also `mailharness up`, `check` and `run`)",
    "MAILHARNESS_ACCESS_HOST": "the address of the engine's host where the gateway's published port is reached, when "
                               "the harness cannot tell (an engine on another machine); ports are then published on "
                               "all of that host's addresses",
    "MAILHARNESS_MTA": "the MTA release of the topologies' nodes, [NODE=]KIND[@VERSION], several separated by commas "
                       "or spaces (--mailharness-mta, ini mailharness_mta; `mailharness run/check/up --mta`)",
    "MAILHARNESS_KEEP_DSNS": "DIR: save every DSN each test saw there, as .eml files named after the test "
                             "(--mailharness-keep-dsns, ini mailharness_keep_dsns; `mailharness run/check "
                             "--keep-dsns`)",
    "MAILHARNESS_SHARD": "K/N: run only the K-th of N parts of the selected tests (--mailharness-shard, ini "
                         "mailharness_shard)",
    "MAILHARNESS_CONTAINERS": "a folder of image definitions to build instead of the bundled ones (to try changed "
                              "definitions); it must hold base/packages.txt",
    "MAILHARNESS_HOST_FILES": "use (default) or ignore: whether `mailharness check` takes the files a Postfix "
                              "configuration names outside its folder (/etc/mailname, /etc/aliases, TLS files) from "
                              "this host; with ignore, the image's own or made ones (`mailharness matrix` sets it)",
    "MAILHARNESS_PKI": "container: make each topology's certificates with the openssl of the harness's mock-smtp "
                       "image, even where this host has an openssl of its own (used by default: one container fewer "
                       "a start)",
    "MAILHARNESS_BASE_ROUTE": "how `mailharness images build` gets each Debian base image: auto (default), pull or "
                              "offline (debootstrap; `images build --route`)",
    "MAILHARNESS_DEBIAN_MIRROR": "the Debian mirror URL the offline route's debootstrap uses (default: the host's apt "
                                 "sources)",
    # the repository's scripts (ci/), for a checkout of the project
    "MAILHARNESS_DOCKERD_TCP": "ci/ensure-docker.sh: the loopback address:port the dockerd it starts also listens "
                               "on (default 127.0.0.1:2375)",
    "MAILHARNESS_DOCKERD_LOG": "ci/ensure-docker.sh: the log file of the dockerd it starts (default "
                               "/var/log/mailharness-dockerd.log)",
    "MAILHARNESS_DOCKERD_WAIT": "ci/ensure-docker.sh: seconds to wait for the dockerd it starts to answer (default 60)",
    "MAILHARNESS_PACKAGE": "the CI templates (ci/templates/): what pip installs (default pytest-mailharness; a "
                           "git+URL or a wheel)",
}
_MTA = re.compile(r"^(?:(?P<node>[a-z0-9][a-z0-9_.-]*)=)?(?P<kind>[a-z][a-z0-9-]*)(?:@(?P<version>[^@=\s]+))?$")


@dataclass(frozen=True)
class MtaChoice:
    """One --mailharness-mta value: `[NODE=]KIND[@VERSION]`. node "": every node of that kind; version "": the
    default release."""

    kind: str
    version: str = ""
    node: str = ""

    def __str__(self) -> str:
        return f"{self.node + '=' if self.node else ''}{self.kind}{'@' + self.version if self.version else ''}"


def parse_mta(values: Iterable[str]) -> tuple[MtaChoice, ...]:
    """`--mailharness-mta` values (each may hold several, separated by commas or spaces, as the environment
    variable does) -> choices, checked: a known kind, a known release. A ValueError says what is wrong."""
    out: list[MtaChoice] = []
    for value in values:
        for item in re.split(r"[\s,]+", value.strip()):
            if not item:
                continue
            m = _MTA.match(item.strip().lower())
            if m is None:
                raise ValueError(f"mailharness mta {item!r}: expected [NODE=]KIND[@VERSION], e.g. postfix@3.10 or "
                                 "library=exim@4.98")
            kind, version, node = m.group("kind"), m.group("version") or "", m.group("node") or ""
            if kind not in MTA_KINDS:
                raise ValueError(f"mailharness mta {item!r}: unknown kind {kind!r}; known: {', '.join(MTA_KINDS)}")
            try:
                version = mta.release(kind, version).version if version else ""
            except ValueError as exc:
                raise ValueError(f"mailharness mta {item!r}: {exc}") from None
            out.append(MtaChoice(kind, version, node))
    return tuple(out)


def apply_mta(spec: TopologySpec, choices: Iterable[MtaChoice]) -> TopologySpec:
    """The topology with the chosen MTAs and releases. A choice applies to every node that runs an MTA (its node
    only, when it names one); a later choice wins over an earlier one for the same node:

    - of the node's own kind, it sets the release, unless the node names a version itself;
    - of another kind, it replaces the node's MTA with the chosen one (`--mta exim` runs Exim where the topology
      has Postfix), except on a node that runs a configuration of the user's (config_dir: written for its own
      MTA), unless the choice names that node.

    A topology without such a node is returned unchanged."""
    chosen: dict[str, tuple[NodeKind, str]] = {}
    for c in choices:
        for n in spec.nodes:
            if n.kind not in MTA_KINDS or c.node not in ("", n.name):
                continue
            if n.kind == c.kind:
                if not n.version:
                    chosen[n.name] = (n.kind, c.version)
            elif not n.config_dir or c.node == n.name:
                chosen[n.name] = (cast(NodeKind, c.kind), c.version)
    if not chosen:
        return spec
    nodes = tuple(dataclasses.replace(n, kind=chosen[n.name][0], version=chosen[n.name][1]) if n.name in chosen
                  else n for n in spec.nodes)
    return dataclasses.replace(spec, nodes=nodes)


@dataclass(frozen=True)
class Settings:
    keep: Keep = "never"
    ready_timeout: float = 30.0
    summary: bool = False
    access: str = "auto"  # how the test process reaches the nodes: auto, direct or gateway (harness.access)
    mta: tuple[MtaChoice, ...] = ()  # the releases of the topologies' MTAs (--mailharness-mta)

    @classmethod
    def from_pytest(cls, config: Any) -> Settings:
        def pick(opt: str, ini: str, env: str, default: str) -> str:
            v = config.getoption(opt, None)
            if v not in (None, ""):
                return str(v)
            v = config.getini(ini)
            if v not in (None, ""):
                return str(v)
            return os.environ.get(env, default)

        keep: Any = pick("mailharness_keep", "mailharness_keep", "MAILHARNESS_KEEP", "never")
        if keep not in KEEP_CHOICES:
            raise ValueError(f"mailharness keep={keep!r}: expected one of {', '.join(KEEP_CHOICES)}")
        ready = float(pick("mailharness_ready_timeout", "mailharness_ready_timeout", "MAILHARNESS_READY_TIMEOUT",
                           "30"))
        from ..access import mode_from

        access = mode_from(pick("mailharness_access", "mailharness_access", "MAILHARNESS_ACCESS", "auto"))
        return cls(keep=keep, ready_timeout=ready, summary=bool(config.getoption("mailharness_summary", False)),
                   access=access, mta=parse_mta(mta_values(config)))


def mta_values(config: Any) -> list[str]:
    """The --mailharness-mta values: those of the command line (repeatable), else the ini file's (a line each),
    else MAILHARNESS_MTA (comma- or space-separated)."""
    opt = config.getoption("mailharness_mta", None)
    if opt:
        return [str(v) for v in opt]
    ini = config.getini("mailharness_mta")
    if ini:
        return [str(v) for v in ini]
    env = os.environ.get("MAILHARNESS_MTA", "")
    return [env] if env.strip() else []
