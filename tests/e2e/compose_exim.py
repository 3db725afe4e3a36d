"""An Exim node in the compose property (tests/e2e/compose.py), read in one exec as the running Exim reads it: the
options the settings file's macros feed (`exim -bP`, the smtp transport's too), the retry rule in force (`exim
-brt`), the files under /etc/exim4/mh, the mailbox file system. The expectations are written from what each fault
means on Exim (containers/exim/README, "What a fault may change"; docs/faults.md), not from harness.mta.exim.faults.
"""

from __future__ import annotations

import re

from harness import MailTopology
from harness import faults as F

from .compose_served import TLS, Observation, Served, check_served, client_timeout, read_served, served_section

MH = "/etc/exim4/mh"
MAIN = ("check_spool_space", "local_interfaces", "delay_warning", "ignore_bounce_errors_after", "timeout_frozen_after",
        "tls_advertise_hosts", "tls_certificate", "bounce_return_size_limit")
TRANSPORT = ("connect_timeout", "command_timeout", "data_timeout", "final_timeout", "hosts_avoid_tls",
             "hosts_require_tls", "tls_verify_hosts")
# The macro of the settings file that feeds each option (the README's "settings"); "retry" is the retry rule.
MACROS = {"retry": "MH_RETRY", "check_spool_space": "MH_CHECK_SPOOL_SPACE", "local_interfaces": "MH_LOCAL_INTERFACES",
          "delay_warning": "MH_DELAY_WARNING", "ignore_bounce_errors_after": "MH_IGNORE_BOUNCE_ERRORS_AFTER",
          "tls_advertise_hosts": "MH_TLS_ADVERTISE", "tls_certificate": "MH_TLS_CERTIFICATE",
          "connect_timeout": "MH_CONNECT_TIMEOUT", "command_timeout": "MH_COMMAND_TIMEOUT",
          "hosts_avoid_tls": "MH_TLS_AVOID", "hosts_require_tls": "MH_TLS_REQUIRE", "tls_verify_hosts": "MH_TLS_VERIFY"}
_TIMEOUTS = {"connect": "connect_timeout", "greeting": "command_timeout"}
NO_HOST, EVERY_HOST = "no host", "every host"
# TlsPolicy's levels as the smtp transport's host lists (avoid TLS with, require TLS of, verify the certificate of):
# may uses TLS where offered, encrypt insists on it, verify also on a certificate of the CA for the host's name.
LEVELS = {"none": (EVERY_HOST, NO_HOST, NO_HOST), "may": (NO_HOST, NO_HOST, NO_HOST),
          "encrypt": (NO_HOST, EVERY_HOST, NO_HOST), "verify": (NO_HOST, EVERY_HOST, EVERY_HOST)}
ABOVE_THE_SPOOL = "more than the spool's file system holds"
FILL = ".mh-fill"  # the folder of a user's Maildir that holds a MailboxFull's quota (the harness's readers skip it)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZES = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}


def seconds(t: str) -> int:
    """An Exim (or Postfix) time: "1h", "1m30s", "52w", "60" (seconds)."""
    t = t.strip()
    if t.isdigit():
        return int(t)
    parts = re.findall(r"(\d+)([smhdw])", t)
    assert parts and "".join(a + b for a, b in parts) == t, f"not a time: {t!r}"
    return sum(int(n) * _UNITS[u] for n, u in parts)


def value(option: str, raw: str) -> object:
    """An option as `exim -bP` prints it, in comparable form: times in seconds (a list of them for delay_warning),
    sizes in bytes, host lists that match no host or every host by those words, the retry rule's times."""
    raw = raw.strip()
    if option == "delay_warning":
        return tuple(seconds(t) for t in raw.split(":") if seconds(t)) if raw else ()
    if option.endswith(("_timeout", "_after")):
        return seconds(raw)
    if option == "check_spool_space":
        m = re.fullmatch(r"(\d+)([KMG]?)", raw)
        assert m, raw
        return int(m.group(1)) * _SIZES[m.group(2)]
    if option.startswith("hosts_") or option.endswith("_hosts"):
        return NO_HOST if raw in ("", "!*", ":") else EVERY_HOST if raw == "*" else raw
    if option == "retry":  # "": a rule without times (the first temporary failure fails the address)
        assert raw != "none", "exim -brt found no retry rule at all"
        if not raw:
            return ()
        kind, _, times = raw.partition(",")
        return (kind, *(seconds(t) for t in times.split(",")))
    return raw


def _retry(lifetime: str) -> tuple[object, ...]:
    """The retry rule's times for a message kept `lifetime`: every second until then; none for 0s."""
    return ("F", seconds(lifetime), 1) if seconds(lifetime) else ()


def options_of(f: F.Fault, node: str) -> dict[str, object]:
    """The options `f` sets on `node`, as the README says each fault means on Exim."""
    if f.node != node:  # a host gone elsewhere: this node's client gives up on it sooner
        stage, t = client_timeout(f, node)
        return {_TIMEOUTS[stage]: seconds(t)} if stage else {}
    if isinstance(f, F.DiskFull):  # retried every second for retry_for ("0s": no times, failed at once), then bounced
        return {"retry": _retry(f.retry_for)}
    if isinstance(f, F.QueueFull):
        return {"check_spool_space": ABOVE_THE_SPOOL}
    if isinstance(f, F.QueueLifetime):  # one "delayed" DSN: its time, then a year (a list's last interval repeats)
        warn = seconds(f.delay_warning)
        return {"retry": _retry(f.lifetime), "ignore_bounce_errors_after": seconds(f.lifetime),
                "delay_warning": (warn, seconds("52w")) if warn else ()}
    if isinstance(f, F.Down) and not f.whole_host:
        return {"local_interfaces": "127.0.0.1"}
    if isinstance(f, F.TlsPolicy):
        return dict(zip(("hosts_avoid_tls", "hosts_require_tls", "tls_verify_hosts"), LEVELS[f.level], strict=True))
    if isinstance(f, F.NoStartTLS):
        return {"tls_advertise_hosts": NO_HOST}
    if isinstance(f, F.BadCertificate):
        return {"tls_certificate": f"{TLS}/{f.kind}.crt"}
    return {}


class Observed:
    """One Exim node's options, files under /etc/exim4/mh, mailbox file system and SMTP server, from one exec."""

    def __init__(self, out: str, kinds: dict[str, str]):
        sections = out.split("\n--- ")
        assert len(sections) == 4, f"unexpected output of the node:\n{out}"
        raw = {name.strip(): v.strip() for name, eq, v in (ln.partition("=") for ln in sections[0].splitlines()) if eq}
        assert {*MAIN, *TRANSPORT, "retry", "spool"} <= set(raw), f"unexpected output of the node:\n{sections[0]}"
        self.options = {o: value(o, raw[o]) for o in (*MAIN, *TRANSPORT, "retry")}
        blocks, block_size = raw["spool"].split()
        self.spool_bytes = int(blocks) * int(block_size)
        self.mh: dict[str, list[str]] = {}
        for block in sections[1].split("== ")[1:]:
            name, _, body = block.partition("\n")
            self.mh[name] = [ln for ln in body.splitlines() if ln.strip()]
        self.macros = {ln.partition("=")[0].strip() for ln in self.mh.pop("settings", [])}
        self.tree: dict[str, tuple[str, int]] = {}
        self.free = -1
        self.forwards: dict[str, str] = {}
        for ln in sections[2].splitlines()[1:]:
            kind, _, rest = ln.partition(" ")
            if kind == "free":
                self.free = int(rest)
            elif kind == "forward":
                path, _, to = rest.partition(" ")
                self.forwards[path] = to
            else:
                size, _, path = rest.partition(" ")
                self.tree[path] = (kind, int(size) if kind == "f" else 0)
        self.served: Served | None = read_served(sections[3].partition("\n")[2], kinds)


def observe(world: MailTopology, node: str, kinds: dict[str, str]) -> Observation:
    n = world.node(node)
    transport = "|".join(TRANSPORT)
    script = (f"exim -bP {' '.join(MAIN)}; exim -bP transport remote_smtp | grep -E '^({transport}) '; "
              "r=$(exim -brt postmaster@store.example 2>&1); case \"$r\" in *'No retry rule'*) echo 'retry = none';; "
              "*) echo \"retry = $(echo \"$r\" | grep -o 'F,[^;]*')\";; esac; "
              "echo \"spool = $(stat -f -c '%b %S' /var/spool/exim4)\"; "
              f"echo '--- mh'; for f in {MH}/*; do [ -f \"$f\" ] && echo \"== ${{f##*/}}\" && cat \"$f\"; done; "
              "echo '--- mail'; find /var/mail -mindepth 1 -printf '%y %s %p\\n'; "
              "echo \"free $(stat -f -c %a /var/mail)\"; "
              "for f in /var/mail/*/.forward; do [ -f \"$f\" ] && echo \"forward $f $(cat \"$f\")\"; done; "
              + served_section(n.ip, n.connected))
    return Observed(world.mta(node).exec(["sh", "-c", script]).decode(), kinds)


def check(world: MailTopology, node: str, base: Observation, seen: Observation, faults: list[F.Fault],
          where: str) -> None:
    assert isinstance(base, Observed) and isinstance(seen, Observed)
    want = dict(base.options)
    for f in faults:  # the last applied fault that sets an option wins; none left: the baseline's
        want.update(options_of(f, node))
    macros = {MACROS[o] for f in faults for o in options_of(f, node)}
    if want["check_spool_space"] == ABOVE_THE_SPOOL:
        got = seen.options["check_spool_space"]
        assert isinstance(got, int) and got > seen.spool_bytes, \
            f"{node}: check_spool_space {got} is not above the spool's {seen.spool_bytes} bytes; {where}"
        want["check_spool_space"] = got
    assert seen.options == want, f"{node}: {where}"
    assert seen.macros == macros, f"{node}: the settings file's macros; {where}"
    mine = [f for f in faults if f.node == node]
    domain = world.node(node).domain
    tables = dict(base.mh)
    gone = {f.user for f in mine if isinstance(f, F.UnknownUser)}
    tables["users"] = [ln for ln in base.mh["users"] if ln.split()[0] not in gone]
    tables["aliases"] = base.mh["aliases"] + [f"{f.user}: {f.to}" for f in mine
                                              if isinstance(f, F.Forward) and f.via == "alias"]
    tables["virtual"] = base.mh["virtual"] + [f"{f.user}@{domain}: {f.to}" for f in mine
                                              if isinstance(f, F.Forward) and f.via == "virtual"]
    tables["refuse"] = base.mh["refuse"] + [f"{f.address}: {f.reply}" for f in mine if isinstance(f, F.Refuse)]
    quotas = [f for f in mine if isinstance(f, F.MailboxFull)]
    tables["quota"] = base.mh["quota"] + [f"{f.user}: {f.limit}" for f in quotas]
    if any(isinstance(f, F.AcceptUnknownUsers) for f in mine):
        tables["accept_unknown"] = seen.mh.get("accept_unknown", ["(missing)"])  # a flag: its being there
    limits = [f.limit for f in mine if isinstance(f, F.SizeLimit)]
    if limits:
        tables["size_limit"] = [str(limits[-1])]
    assert seen.mh == tables, f"{node}: the files under {MH}; {where}"
    check_mailboxes(node, base, seen, mine, where)
    check_served(node, seen.served, faults, limits[-1] if limits else base_size(base), where)


def base_size(base: Observed) -> int:
    assert base.served is not None and base.served.size is not None, base.served
    return base.served.size


def check_mailboxes(node: str, base: Observed, seen: Observed, mine: list[F.Fault], where: str) -> None:
    """DiskFull: the mailbox file system has no free block left; MailboxFull: the user's Maildir holds at least
    its quota in force (the first quota line of the user: lsearch) in a folder of its own; Forward(via="forward"):
    the user's .forward names the last one's address. Nothing else under /var/mail changes."""
    full = any(isinstance(f, F.DiskFull) for f in mine)
    assert (seen.free == 0) is full, f"{node}: {seen.free} blocks free on /var/mail; {where}"
    added = {p: t for p, t in seen.tree.items() if p not in base.tree}
    extra = {"/var/mail/.mh-fill", "/var/mail/.mh-fill2"} if full else set()
    forwards = {f"/var/mail/{f.user}/.forward": f.to for f in mine if isinstance(f, F.Forward) and f.via == "forward"}
    assert seen.forwards == forwards, f"{node}: .forward files; {where}"
    quota: dict[str, int] = {}
    for f in mine:
        if isinstance(f, F.MailboxFull):
            quota.setdefault(f.user, f.limit)
    for user, limit in quota.items():
        folder = f"/var/mail/{user}/{FILL}"
        held = sum(size for p, (kind, size) in added.items() if p.startswith(f"{folder}/") and kind == "f")
        assert held >= limit, f"{node}: {user}'s Maildir holds {held} bytes in {folder}, under its quota " \
                              f"{limit}: not full; {where}"
        extra |= {p for p in added if p == folder or p.startswith(f"{folder}/")}
    assert set(added) == extra | set(forwards), f"{node}: new under /var/mail: {sorted(added)}; {where}"
    gone = sorted(p for p in base.tree if p not in seen.tree)
    assert not gone, f"{node}: gone from /var/mail: {gone}; {where}"
