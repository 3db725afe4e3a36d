"""A real Postfix server (Debian's package), configured from the topology at start."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import docker.errors
import requests

from ...evidence.events import LogEvent
from ...faults import Fault
from ...faults.changes import Change, NodeWant
from ...nodes.base import NodeError, Placement
from ...topology import NodeSpec, TopologySpec
from ..base import NEIGHBOUR_SYSCTLS, SYNC_PROGRAM, ClientStage, ConfigRefused, MtaNode, Quota, ServerTls
from . import evidence, servertls, smuggling
from . import faults as interpret
from . import quota as dovecot_quota
from .config import ConfigWriter
from .configfacts import settings
from .evidence.grammar import grammar
from .faults import MBOX_SPOOL

log = logging.getLogger("mailharness")
# master's children (master runs as PID 1 in the node; commands the harness runs have other parents; the stand-ins
# of a user's configuration, containers/postfix/standins.py, are not Postfix's)
_CHILDREN = ("for p in /proc/[0-9]*; do { read -r pid comm state ppid rest < $p/stat; } 2>/dev/null || continue; "
             "[ \"$ppid\" = 1 ] && [ \"$comm\" != '(mh-standins)' ] && echo $pid; done")
# One round trip for a reload: the edit (its own shell, `set -e` as the caller wrote it), master's children listed,
# the reload, then (a deadline: 5 s) until every daemon of before the reload is gone: an idle smtpd of before the
# reload can still take the next connection, with the old configuration, in the few milliseconds before it notices
# the reload and exits. The reload is what `postfix reload` comes to, without the checks its script makes for an
# administrator (four postconf runs, `master -t`, two postsuper runs: 50 ms a reload and 60 ms of CPU, the most of
# a fault's cost): main.cf read as every Postfix command reads it (postlog: a value Postfix cannot use is fatal here,
# as it is for `postfix`, before master sees it), then SIGHUP to master (PID 1 in the node: entrypoint.sh and
# user-config.sh exec it; its pid file otherwise). Exit 2: the edit failed; 3: Postfix refused (its words, and
# postconf's); "left: PIDS": daemons still running at the deadline.
_RELOAD = (f'edit=$1; shift; sh -c "$edit" edit "$@" || exit 2; before=$({_CHILDREN}); '
           'touch -d "-1 min" /etc/postfix/*; out=$(postlog -t postfix/mailharness "reload requested" 2>&1) || '
           '{ postconf -n 2>&1 >/dev/null | tail -n 5; echo "$out"; exit 3; }; '
           'case "$out" in *fatal*) echo "$out"; exit 3;; esac; '
           'm=1; [ "$(cat /proc/1/comm)" = master ] || m=$(sed 1q "$(postconf -h queue_directory)/pid/master.pid"); '
           'kill -HUP "$m" || exit 3; '
           'for i in $(seq 250); do n=0; for p in $before; do [ -d /proc/$p ] && n=$((n + 1)); done; '
           '[ $n = 0 ] && exit 0; sleep 0.02; done; left=""; for p in $before; do [ -d /proc/$p ] && '
           'left="$left $p"; done; echo "left:$left"')

# qmgr found a queue file still locked by the delivery agent that had just tried it (the agent reports its status,
# then closes the file; with retries every second, the next deferred-queue scan can come in between). qmgr then
# parks the file in the incoming queue with its time stamp 60 s ahead (qmgr_active.c, QMGR_MESSAGE_LOCKED): a
# delay the harness's compressed queue times (main.cf) cannot reach, and the file waits for the next incoming scan
# after that. EXPEDITE waits until no process holds a lock on the file any more (bounded: 10 s), then does what an
# administrator would: `postqueue -i ID` sets the file's time stamp to now and asks qmgr to scan the incoming queue.
EXPEDITE = r"""q=$(postconf -h queue_directory)
f=$(find "$q/incoming" "$q/deferred" -name "$1" -type f 2>/dev/null | head -n 1)
if [ -n "$f" ] && ino=$(stat -c %i "$f" 2>/dev/null); then
  i=0
  while grep -q " FLOCK .*:$ino " /proc/locks && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
fi
exec postqueue -i "$1"
"""
# The banner of an smtpd that listens on loopback only, read inside the node (polled until a deadline, argv[1] s)
_LOCAL_BANNER = """import socket, sys, time
deadline, last = time.monotonic() + float(sys.argv[1]), ""
while time.monotonic() < deadline:
    try:
        with socket.create_connection(("127.0.0.1", 25), 2) as s:
            last = s.recv(512).decode("ascii", "replace")
            s.sendall(b"QUIT\\r\\n")
            if last.startswith("220"):
                break
    except OSError as e:
        last = str(e)
    time.sleep(0.02)
print(last)
"""
EXPEDITE_LIMIT = 5  # per queue file: past that, something really holds it (a hung delivery agent): leave it be


class PostfixNode(MtaNode):
    kind = "postfix"

    def __init__(self, spec: NodeSpec, topology: TopologySpec, image: str, placement: Placement):
        super().__init__(spec.name, spec.hostname, image, placement, domain=spec.domain,
                         interface_sysctls=NEIGHBOUR_SYSCTLS)
        self.spec = spec
        own = {spec.domain, *spec.other_domains}
        by_mx = [d for d in topology.domains if d not in own and d not in spec.routes]
        others = [*by_mx, *(f"{d}={host}" for d, host in spec.routes.items())]
        extra = "\n".join(f"{k} = {v}" for k, v in spec.main_cf.items())
        # The keys of the image's TLS policy table (containers/postfix/main.cf): each next hop as Postfix names it,
        # a domain its MX serves, [host] for a route to a host, the relayhost as written. None where the table is
        # not the image's: a user's configuration, or a main_cf that names its own.
        self.tls_policy_keys: tuple[str, ...] = () if spec.config_dir or "smtp_tls_policy_maps" in spec.main_cf \
            else tuple(dict.fromkeys([*by_mx, *(f"[{host}]" for host in spec.routes.values()),
                                      *([spec.relayhost] if spec.relayhost else [])]))
        env = {
            "MH_HOSTNAME": spec.hostname,
            "MH_DOMAIN": spec.domain,
            "MH_USERS": " ".join(spec.mailboxes),
            "MH_ROUTES": " ".join(others),
            "MH_NETWORKS": placement.subnet,
            "MH_MAIN_CF": extra,
            "MH_DNS": placement.dns_ip or "",
            "MH_LISTEN": "" if spec.listens else "loopback",
            "MH_RELAYHOST": spec.relayhost,
        }
        if spec.config_dir:
            env["MH_USER_CONFIG"] = "1"
            self.container.with_copy_into_container(Path(spec.config_dir).resolve(), "/etc/mailharness-user")
            for path, content in spec.files:  # put in place by user-config.sh
                self.container.with_copy_into_container(content, "/etc/mailharness-files" + path)
        for k, v in env.items():
            self.container.with_env(k, v)
        # A small file system under the mailboxes, so that DiskFull can fill it.
        self.container.with_tmpfs_mount("/var/mail", "size=16m")
        # Changed by hand (postconf/edit_config) since the baseline; the faults' changes are harness.faults.ledger's.
        self.config_dirty = False
        # Queue files rescheduled after qmgr skipped them as still locked (see EXPEDITE), and how often.
        self._expedited: dict[str, int] = {}
        self._expedite_lock = threading.Lock()
        self.events.grammars[spec.name] = grammar  # its mail log is read as Postfix writes it
        self.events.kinds[spec.name] = self.kind
        # What the applied faults have written beyond the baseline (harness.faults.ledger asks for it: converge).
        self._config = ConfigWriter(self)

    def wait_ready(self, timeout: float, since: int) -> None:
        self.wait_started(timeout, since)
        if self.spec.listens:
            self.wait_banner(timeout)
        else:  # listening on loopback only: its banner is read inside the node
            out = self.exec(["python3", "-c", _LOCAL_BANNER, str(timeout)], check=False).decode("utf-8", "replace")
            if not out.startswith("220"):
                raise NodeError(f"{self.name}: no 220 banner on 127.0.0.1:25 inside the node within {timeout:g}s "
                                f"(last: {out.strip()[-200:]})")

    def submit_command(self, sender: str, recipients: list[str], path: str) -> list[str]:
        """Postfix's sendmail(1), as an application submits: the envelope sender, the recipients, the message in
        `path` (-i: a line with a lone dot does not end it)."""
        return ["sh", "-c", 'f=$1; shift; exec /usr/sbin/sendmail -i "$@" < "$f"', "submit", path,
                *(["-f", sender] if sender else ["-f", ""]), "--", *recipients]

    def wait_started(self, timeout: float, since: int) -> None:
        ev = self.events.wait(lambda e: e.node == self.name and ("daemon started" in e.line or e.line.startswith(
            "mailharness: configuration refused") or "fatal:" in e.line), timeout=timeout, since=since,
            what=f"{self.name}'s Postfix to start")
        if "daemon started" not in ev.line:
            wrapped = self.container.get_wrapped_container()
            try:
                wrapped.wait(timeout=5)
            except (requests.exceptions.RequestException, docker.errors.APIError) as exc:
                # still running after a fatal line (the wait timed out): report what it said anyway
                log.debug("mailharness: %s still running after its fatal line: %s", self.name, exc)
            lines = wrapped.logs().decode("utf-8", "replace").strip().splitlines()
            out = "\n".join(dict.fromkeys(lines))  # postconf repeats its warnings once per call
            raise ConfigRefused(f"{self.name}: Postfix refused the configuration"
                                f"{' in ' + self.spec.config_dir if self.spec.config_dir else ''}:\n{out}")

    def on_event(self, ev: LogEvent) -> None:
        if ev.queue_id and evidence.is_still_being_delivered(ev):
            with self._expedite_lock:
                count = self._expedited.get(ev.queue_id, 0) + 1
                self._expedited[ev.queue_id] = count
            if count <= EXPEDITE_LIMIT:
                threading.Thread(target=self._expedite, args=(ev.queue_id,), daemon=True,
                                 name=f"mailharness-expedite-{self.name}-{ev.queue_id}").start()
            else:
                log.warning("mailharness: %s: %s is still locked after %d reschedules; left to Postfix",
                            self.name, ev.queue_id, EXPEDITE_LIMIT)

    def _expedite(self, queue_id: str) -> None:
        """Reschedule a queue file that qmgr skipped because its last delivery agent had not yet let it go."""
        if not self.alive:
            return
        try:
            self.exec(["sh", "-c", EXPEDITE, "expedite", queue_id])
            log.info("mailharness: %s: %s was skipped by qmgr (still locked by its delivery agent); "
                     "rescheduled with postqueue -i", self.name, queue_id)
        except (NodeError, docker.errors.APIError, requests.exceptions.RequestException) as exc:
            # halted, frozen or removed meanwhile, or the queue file is gone: Postfix's own 60 s delay stands
            log.debug("mailharness: %s: could not reschedule %s: %s", self.name, queue_id, exc)

    def reset(self, *, sync: str = "") -> None:
        """Queue emptied, mailboxes cleared, configuration back to its baseline if a fault changed it (then the
        token `sync` logged: MtaNode.reset)."""
        mark = self.events.mark()
        self.exec(self.then_sync(["/usr/local/bin/reset.sh", *(["--config"] if self.config_dirty else [])], sync))
        if self.config_dirty:
            self.wait_log("reload -- version", 10, mark, "configuration restored")
        self.config_dirty = False

    def postconf(self, settings: dict[str, str]) -> None:
        """Change main.cf parameters by hand and reload (waiting for it); `reset()` or `restore_config()` undo it.
        (Faults do not come this way: harness.faults.ledger records and undoes their changes one by one.)"""
        args = [f"{k}={v}" for k, v in settings.items()]
        self.config_dirty = True
        self._reload_after('postconf -e "$@"', *args)

    def edit_config(self, script: str) -> None:
        """Run a shell edit of the files in /etc/postfix by hand, then reload (waiting for it)."""
        self.config_dirty = True
        self._reload_after(script)

    def reconfigure(self, script: str) -> None:
        """Run a shell edit of the configuration that its caller (harness.faults.ledger) records and undoes itself,
        then reload, waiting for master's "reload" line."""
        self._reload_after(script)

    def restore_config(self) -> None:
        """Back to the configuration the node started with."""
        if self.config_dirty:
            self._reload_after("cp -p /etc/postfix/baseline/* /etc/postfix/")
            self.config_dirty = False

    def _reload_after(self, script: str, *args: str) -> None:
        """Run `script` (sh, with `args`), then reload Postfix, in one command in the node (_RELOAD), and wait for
        master's "reload" line. The configuration files are backdated, or Postfix waits for them to "settle"."""
        mark = self.events.mark()
        code, out, err = self._run(["sh", "-c", _RELOAD, "reload", script, *args])
        text = (out + err).decode("utf-8", "replace").strip()
        if code == 2:
            raise NodeError(f"{self.name}: the configuration edit failed: {text or '(no output)'}")
        if code == 3:
            raise NodeError(f"{self.name}: Postfix refused the changed configuration: {text}")
        self.wait_log("reload -- version", 10, mark, "configuration reloaded")
        if text.startswith("left:"):
            log.warning("mailharness: %s: daemons of before the reload still running after 5 s (pids%s): their "
                        "sessions keep the old configuration", self.name, text[5:])

    # -- the seam (harness.mta.base.MtaNode) ---------------------------------------------------------------------
    def fault_changes(self, fault: Fault) -> tuple[Change, ...]:
        return interpret.changes_for(fault, self)

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

    def sync_command(self, token: str) -> list[str]:
        return ["postlog", "-t", SYNC_PROGRAM, token]

    def queue(self) -> list[evidence.QueueEntry]:
        out = self.exec(["postqueue", "-j"], check=False)
        return evidence.queue_listing(out.decode("utf-8", "replace"), self.name)

    def drop_queue(self) -> None:
        self.exec(["/usr/local/bin/reset.sh", "--queue"])

    def flush_queue(self) -> None:
        self.exec(["postqueue", "-f"], check=False)

    @property
    def mailbox_roots(self) -> tuple[str, ...]:
        return ("/var/mail", MBOX_SPOOL)

    def settings(self, names: Sequence[str]) -> dict[str, str]:
        """`postconf -x` on the node: main.cf's values, the release's defaults where main.cf sets none."""
        if not names:
            return {}
        return settings(self.exec(["postconf", "-x", *names], check=False).decode("utf-8", "replace"))

    def lenient_to(self, client_ip: str) -> str:
        """smtpd_forbid_bare_newline_exclusions (as master.cf's smtp service may override it), when it holds
        `client_ip` and smtpd_forbid_bare_newline holds other clients to <CR><LF> (harness.mta.postfix.smuggling)."""
        main = self.settings(smuggling.PARAMS)
        overrides = settings(self.exec(["postconf", "-Px"], check=False).decode("utf-8", "replace"))

        def read_file(path: str) -> str:
            return self.read(["cat", path], ok=(0, 1)).decode("utf-8", "replace")

        def in_table(table: str, key: str) -> bool:
            return self.run(["postmap", "-q", key, table])[0] == 0

        return smuggling.exemption(smuggling.effective(main, overrides), client_ip, read_file=read_file,
                                   in_table=in_table)

    def server_tls(self) -> ServerTls:
        """smtpd_tls_security_level, smtpd_sasl_auth_enable and smtpd_tls_auth_only as smtpd on port 25 runs with
        them (master.cf's smtp service may override main.cf: harness.mta.postfix.servertls)."""
        main = self.settings(servertls.PARAMS)
        overrides = settings(self.exec(["postconf", "-Px"], check=False).decode("utf-8", "replace"))
        return servertls.server_tls(servertls.effective(main, overrides))

    def quota(self, address: str) -> Quota | None:
        """Dovecot's report where your configuration delivers to it (lmtp:); None for Postfix's own delivery (a
        MailboxFull there fills the mbox up to mailbox_size_limit, which reports nothing)."""
        if not self.spec.dovecot:
            return None
        report = self.exec(dovecot_quota.command(address), check=False).decode("utf-8", "replace")
        return dovecot_quota.parse(report, address)


__all__ = ["ConfigRefused", "PostfixNode"]
