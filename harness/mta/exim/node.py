"""A real Exim server (Debian's exim4-daemon-heavy), configured from the topology at start (containers/exim), and
its queue as `exim -bp` lists it (`queue_listing`)."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import docker.errors
import requests

from ...evidence.records import QueueEntry
from ...faults import Fault
from ...faults.changes import Change, NodeWant
from ...nodes.base import NodeError, Placement
from ...topology import NodeSpec, TopologySpec
from ..base import NEIGHBOUR_SYSCTLS, SYNC_PROGRAM, ClientStage, ConfigRefused, MtaNode, ServerTls
from . import faults as interpret
from .config import EximConfigWriter
from .evidence.grammar import MSGID, grammar

log = logging.getLogger("mailharness")

EXIM = "/usr/sbin/exim4"
LOGS = "/var/log/exim4"
# The line Exim's daemon logs when it has started (again, after SIGHUP), and the entrypoint's when Exim refused
# the configuration (`exim -bV`).
STARTED = "daemon started"
REFUSED = "mailharness: configuration refused by Exim"
PANIC_LOG = "exim-panic"  # the program the panic log's lines come under (containers/exim/mh-run.py)
# One round trip for a configuration change Exim reads only when it starts: the edit (its own shell, as the caller
# wrote it), `exim -bV` on the result, then SIGHUP to PID 1 (mh-run.py passes it to the daemon, which reads its
# configuration again). The files an edit may touch are saved first, and put back when Exim refuses the result, so
# the node keeps running on the configuration of before. Exit 2: the edit failed; 3: Exim refused (its words).
_RECONFIGURE = ('edit=$1; shift; save=$(mktemp -d); cp -p /etc/exim4/exim4.conf /etc/exim4/mh/settings "$save"/; '
                'sh -c "$edit" edit "$@" || { rm -rf "$save"; exit 2; }; '
                f'if ! out=$({EXIM} -bV 2>&1 >/dev/null); then cp -p "$save"/exim4.conf /etc/exim4/; '
                'cp -p "$save"/settings /etc/exim4/mh/; rm -rf "$save"; printf "%s\\n" "$out" | grep -v "^$" | '
                'tail -n 8; exit 3; fi; rm -rf "$save"; kill -HUP 1')


class EximNode(MtaNode):
    kind = "exim"
    # Exim implements no RFC 2034: it never advertises ENHANCEDSTATUSCODES, and its own replies carry none ("550
    # Unrouteable address"); a reply an ACL writes may still begin with one.
    enhanced_status_codes = False

    def __init__(self, spec: NodeSpec, topology: TopologySpec, image: str, placement: Placement):
        super().__init__(spec.name, spec.hostname, image, placement, domain=spec.domain,
                         interface_sysctls=NEIGHBOUR_SYSCTLS)
        self.spec = spec
        own = {spec.domain, *spec.other_domains}
        others = [d for d in topology.domains if d not in own and d not in spec.routes]
        others += [f"{d}={host}" for d, host in spec.routes.items()]
        env = {
            "MH_HOSTNAME": spec.hostname,
            "MH_DOMAIN": spec.domain,
            "MH_USERS": " ".join(spec.mailboxes),
            "MH_ROUTES": " ".join(others),
            "MH_NETWORKS": placement.subnet,
            "MH_DNS": placement.dns_ip or "",
            # the other domains it serves: into its mailboxes, or (with a route: a gateway's) relayed for anyone
            "MH_LOCAL_DOMAINS": " ".join(d for d in spec.other_domains if d not in spec.routes),
            "MH_RELAY_DOMAINS": " ".join(d for d in spec.other_domains if d in spec.routes),
        }
        if spec.config_dir:  # the user's configuration, with the harness's overrides (containers/exim/user-config.py)
            env["MH_USER_CONFIG"] = "1"
            self.container.with_copy_into_container(Path(spec.config_dir).resolve(), "/etc/mailharness-user")
        for k, v in env.items():
            self.container.with_env(k, v)
        # A small file system under the mailboxes, so that DiskFull can fill it.
        self.container.with_tmpfs_mount("/var/mail", "size=16m")
        self.events.grammars[spec.name] = grammar  # its log is read as Exim writes it
        self.events.kinds[spec.name] = self.kind
        # Changed by hand (edit_config) since the baseline; the faults' changes are harness.faults.ledger's.
        self.config_dirty = False
        # What the applied faults have written beyond the baseline (harness.faults.ledger asks for it: converge).
        self._config = EximConfigWriter(self)

    # -- start ---------------------------------------------------------------------------------------------------
    def wait_ready(self, timeout: float, since: int) -> None:
        self.wait_started(timeout, since)
        if self.spec.listens:  # a user's configuration that listens on loopback only: its daemon's line is enough
            self.wait_banner(timeout)

    def wait_started(self, timeout: float, since: int) -> None:
        """Exim's daemon logged its start; ConfigRefused with Exim's own words when `exim -bV` refused the
        configuration, or when the panic log speaks first (the daemon could not start: it exits, or, when it cannot
        bind its port, retries for minutes)."""
        ev = self.events.wait(lambda e: e.node == self.name and (
            STARTED in e.line or e.line.startswith(REFUSED) or e.program == PANIC_LOG), timeout=timeout,
            since=since, what=f"{self.name}'s Exim to start")
        if STARTED not in ev.line:
            wrapped = self.container.get_wrapped_container()
            try:
                wrapped.wait(timeout=5)
            except (requests.exceptions.RequestException, docker.errors.APIError) as exc:
                # still running after a panic line: report what it said anyway
                log.debug("mailharness: %s still running after its panic line: %s", self.name, exc)
            out = wrapped.logs().decode("utf-8", "replace").strip()
            why = "it refused the configuration" if REFUSED in out else "its panic log"
            raise ConfigRefused(f"{self.name}: Exim did not start ({why}):\n{out}")

    # -- between tests -------------------------------------------------------------------------------------------
    def reset(self, *, sync: str = "") -> None:
        """Queue emptied, retry hints forgotten, mailboxes cleared, configuration back to its baseline (the daemon
        restarted when a file it reads only at its start had changed); then the token `sync` logged (MtaNode.reset)."""
        self._run_restarting(self.then_sync(["/usr/local/bin/reset.sh"], sync), "reset")
        self.config_dirty = False

    def restore_config(self) -> None:
        """Back to the configuration the node started with (restarting the daemon if that takes it)."""
        self._run_restarting(["/usr/local/bin/reset.sh", "--config"], "configuration restored")
        self.config_dirty = False

    def _run_restarting(self, cmd: list[str], what: str) -> None:
        mark = self.events.mark()
        out = self.exec(cmd).decode("utf-8", "replace")
        if "mailharness:" in out:
            log.warning("mailharness: %s: %s", self.name, out.strip())
        if "restarted" in out.split():
            self.wait_log(STARTED, 10, mark, what)

    # -- configuration -------------------------------------------------------------------------------------------
    def edit_config(self, script: str) -> None:
        """Run a shell edit of the configuration by hand (/etc/exim4/exim4.conf, /etc/exim4/mh/...), then make Exim
        read it (waiting for it); `reset()` or `restore_config()` undo it."""
        self.config_dirty = True
        self.reconfigure(script)

    def reconfigure(self, script: str) -> None:
        """Run a shell edit of the configuration that its caller (harness.faults.ledger) records and undoes itself,
        check the result with `exim -bV`, then SIGHUP the daemon and wait for its "daemon started" line. A refused
        edit is put back (the node keeps running as before) and raises NodeError with Exim's words. (The data files
        under /etc/exim4/mh need none of this: Exim reads them at each use. The queue runs and deliveries read the
        configure as it is when they start; the daemon and its SMTP sessions need the SIGHUP.)"""
        mark = self.events.mark()
        code, out, err = self._run(["sh", "-c", _RECONFIGURE, "reconfigure", script])
        text = (out + err).decode("utf-8", "replace").strip()
        if code == 2:
            raise NodeError(f"{self.name}: the configuration edit failed: {text or '(no output)'}")
        if code == 3:
            raise NodeError(f"{self.name}: Exim refused the changed configuration (put back as it was): {text}")
        if code != 0:
            raise NodeError(f"{self.name}: reconfiguring Exim failed (exit {code}): {text or '(no output)'}")
        self.wait_log(STARTED, 10, mark, "configuration read again after SIGHUP")

    # -- the seam (harness.mta.base.MtaNode) ---------------------------------------------------------------------
    def fault_changes(self, fault: Fault) -> tuple[Change, ...]:
        changes = interpret.changes_for(fault, self)
        if self.spec.config_dir:
            interpret.on_user_config(fault, changes)
        return changes

    def client_timeout(self, stage: ClientStage, value: str) -> tuple[Change, ...]:
        return interpret.client_timeout(self, stage, value)

    def smtp_off(self) -> tuple[Change, ...]:
        return interpret.smtp_off(self)

    def converge(self, want: NodeWant) -> None:
        self._config.converge(want)

    def conflict(self, want: NodeWant) -> str | None:
        return self._config.conflict(want)

    def restarted(self) -> None:
        self._config.restarted()

    @property
    def changed(self) -> bool:
        return self._config.changed

    def submit_command(self, sender: str, recipients: list[str], path: str) -> list[str]:
        """Exim's sendmail interface, as an application submits: `exim -i -f SENDER -- RCPTS` with the message in
        `path` on stdin (-i: a line with a lone dot does not end it; -f "": the null sender, root being trusted)."""
        return ["sh", "-c", f'f=$1; shift; exec {EXIM} -i "$@" < "$f"', "submit", path, "-f", sender, "--",
                *recipients]

    def sync_command(self, token: str) -> list[str]:
        """The token goes through the node's log follower (mh-run.py), which writes it as a SYNC_PROGRAM line after
        every line Exim logged before it: the barrier holds for all three logs."""
        return ["sh", "-c", f'echo "$1" >> {LOGS}/mh-sync', SYNC_PROGRAM, token]

    def queue(self) -> list[QueueEntry]:
        out = self.exec(QUEUE_COMMAND, check=False).decode("utf-8", "replace")
        return queue_listing(out, self.name)

    def drop_queue(self) -> None:
        """The queue part of reset.sh: every message removed, a delivery still holding one killed."""
        out = self.exec(["/usr/local/bin/reset.sh", "--queue"]).decode("utf-8", "replace")
        if "mailharness:" in out:
            log.warning("mailharness: %s: %s", self.name, out.strip())

    def flush_queue(self) -> None:
        """`exim -qff` (every message, frozen ones too), in the background: it returns at once, as new mail would
        not wait for the deliveries either."""
        self.exec(["sh", "-c", f"{EXIM} -qff >/dev/null 2>&1 &"], check=False)

    @property
    def mailbox_roots(self) -> tuple[str, ...]:
        return ("/var/mail",)

    def server_tls(self) -> ServerTls:
        """tls_advertise_hosts as the running configuration has it (`exim -bP`): STARTTLS offered to every client
        (may) or to none. The baseline has no authenticators: AUTH is not enabled."""
        out = self.exec([EXIM, "-bP", "tls_advertise_hosts"], check=False).decode("utf-8", "replace").strip()
        hosts = out.partition("=")[2].strip()
        level = "none" if hosts in ("", "!*", ":") else "may"
        return ServerTls(level=level, auth=False, auth_only_over_tls=False, said=out)


# -- the queue --------------------------------------------------------------------------------------------------------
# `exim -bp` lists each message (its age, size, id, sender, "*** frozen ***" when frozen) and its recipients, the
# delivered ones flagged "D" (or "+D": every address its alias expanded to was delivered). It gives no state beyond
# frozen and no reasons: a message whose spool data file a process holds locked (/proc/locks: a delivery is under
# way) is "active", a frozen one "frozen", any other "deferred" (waiting for its next try); the reasons are "" (the
# log says why).
SPOOL = "/var/spool/exim4"
_MARK = "--mailharness-spool--"
# One round trip: the listing, each spool data file's device, inode and name, then the kernel's file locks.
QUEUE_COMMAND = ["sh", "-c", f"{EXIM} -bp 2>&1; echo {_MARK}; find {SPOOL}/input -name '*-D' -printf '%D %i %f\\n'; "
                 f"echo {_MARK}; cat /proc/locks"]
_HEAD = re.compile(rf"^\s*\d+[smhdw]\s+[\d.]+[KMG]?\s+(?P<id>{MSGID})\s+<(?P<sender>[^>]*)>(?P<rest>.*)$")
_RCPT = re.compile(r"^\s+(?P<flag>\+?D\s+)?(?P<address>\S+)(?:\s.*)?$")


def queue_listing(text: str, node: str = "") -> list[QueueEntry]:
    """QUEUE_COMMAND's output as entries. A line that is none of the listing's (Exim's error instead of a listing)
    raises ValueError with its words: an empty list must mean an empty queue."""
    listing, _, rest = text.partition(_MARK + "\n")
    files, _, locks = rest.partition(_MARK + "\n")
    locked = {f[5] for f in (ln.split() for ln in locks.splitlines()) if len(f) > 5}  # "maj:min:inode" (hex:hex:dec)
    active = set()
    for line in files.splitlines():
        dev, ino, name = (line.split() + ["", "", ""])[:3]
        if dev.isdigit() and f"{os.major(int(dev)):02x}:{os.minor(int(dev)):02x}:{ino}" in locked:
            active.add(name.removesuffix("-D"))
    out: list[QueueEntry] = []
    head: re.Match[str] | None = None
    rcpts: list[str] = []

    def flush() -> None:
        if head is not None:
            qid = head.group("id")
            state = "frozen" if "*** frozen ***" in head.group("rest") else "active" if qid in active else "deferred"
            out.append(QueueEntry(node, qid, state, head.group("sender"), tuple(rcpts), ("",) * len(rcpts)))

    for line in listing.splitlines():
        if not line.strip():
            continue
        m = _HEAD.match(line)
        if m:
            flush()
            head, rcpts = m, []
            continue
        r = _RCPT.match(line)
        if head is not None and r:
            if not r.group("flag"):
                rcpts.append(r.group("address"))
            continue
        raise ValueError(f"exim -bp on {node or 'the node'}: {line.strip()}")
    flush()
    return out


__all__ = ["ConfigRefused", "EximNode", "queue_listing"]
