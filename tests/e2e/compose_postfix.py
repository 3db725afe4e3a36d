"""A Postfix node in the compose property (tests/e2e/compose.py): its main.cf parameters (`postconf -h`), tables
and index, master.cf's smtp service and the files faults write, read in one exec; the expectations written from
docs/faults.md (what each fault sets on Postfix), not from harness.mta.postfix.faults."""

from __future__ import annotations

from harness import MailTopology
from harness import faults as F

from .compose_served import TLS, Observation, Served, check_served, client_timeout, read_served, served_section

PARAMS = ("maximal_queue_lifetime", "bounce_queue_lifetime", "delay_warning_time", "queue_minfree",
          "local_recipient_maps", "mail_spool_directory", "mailbox_size_limit", "message_size_limit",
          "bounce_size_limit", "smtp_connect_timeout", "smtp_helo_timeout", "smtp_tls_security_level",
          "smtpd_tls_security_level", "smtpd_tls_cert_file")
TABLES = ("local_recipients", "aliases", "virtual", "refuse", "tls_policy")
_TIMEOUTS = {"connect": "smtp_connect_timeout", "greeting": "smtp_helo_timeout"}
FILES = ("/var/mail/.mh-fill", "/var/mail/jill/.forward", "/var/spool/mh-mbox/jill", "/var/spool/mh-mbox")


def bounce_size(message_size_limit: int) -> str:
    """What a fault that sets message_size_limit sets bounce_size_limit to: below it, at most the default."""
    return str(min(50_000, message_size_limit // 2))


def params_of(f: F.Fault, node: str) -> dict[str, str]:
    """The main.cf parameters `f` sets on `node`, as the catalogue documents them."""
    if f.node != node:  # a host gone elsewhere: this node's client gives up on it sooner
        stage, value = client_timeout(f, node)
        return {_TIMEOUTS[stage]: value} if stage else {}
    if isinstance(f, F.AcceptUnknownUsers):
        return {"local_recipient_maps": ""}
    if isinstance(f, F.DiskFull):
        return {"maximal_queue_lifetime": f.retry_for, "bounce_queue_lifetime": f.retry_for}
    if isinstance(f, F.QueueFull):
        return {"queue_minfree": str(10**15)}
    if isinstance(f, F.MailboxFull):
        return {"mail_spool_directory": "/var/spool/mh-mbox", "mailbox_size_limit": str(f.limit),
                "message_size_limit": str(f.limit), "bounce_size_limit": bounce_size(f.limit)}
    if isinstance(f, F.SizeLimit):
        return {"message_size_limit": str(f.limit), "bounce_size_limit": bounce_size(f.limit)}
    if isinstance(f, F.QueueLifetime):
        return {"maximal_queue_lifetime": f.lifetime, "bounce_queue_lifetime": f.lifetime,
                "delay_warning_time": f.delay_warning}
    if isinstance(f, F.NoStartTLS):
        return {"smtpd_tls_security_level": "none"}
    if isinstance(f, F.BadCertificate):
        return {"smtpd_tls_cert_file": f"{TLS}/{f.kind}.crt"}
    return {}


class Observed:
    """One Postfix node's configuration and files, read in one exec."""

    def __init__(self, out: str, kinds: dict[str, str]):
        sections = out.split("\n--- ")
        values = sections[0].split("\n")
        assert len(sections) == 5 and len(values) == len(PARAMS), f"unexpected output of the node:\n{out}"
        self.params = dict(zip(PARAMS, values, strict=True))
        self.tables: dict[str, list[str]] = {}
        for block in sections[1].split("== ")[1:]:
            name, _, body = block.partition("\n")
            self.tables[name] = [ln for ln in body.splitlines() if ln.strip()]
        self.smtp_service = sections[2].partition("\n")[2].strip()
        self.files: dict[str, tuple[int, str]] = {}
        for ln in sections[3].splitlines()[1:]:
            path, size, head = (ln.split(" ", 2) + ["", ""])[:3]
            self.files[path] = (int(size), head)
        self.served: Served | None = read_served(sections[4].partition("\n")[2], kinds)


def observe(world: MailTopology, node: str, kinds: dict[str, str]) -> Observation:
    n = world.node(node)
    script = (f"postconf -h {' '.join(PARAMS)}; echo '--- tables'; "
              + "".join(f"echo '== {t}'; cat /etc/postfix/{t}; " for t in TABLES)
              + "echo '== refuse.lmdb'; postmap -s lmdb:/etc/postfix/refuse; "
              + "echo '== tls_policy.lmdb'; postmap -s lmdb:/etc/postfix/tls_policy; "
              + "echo '--- master'; postconf -M smtp/inet 2>/dev/null; echo '--- files'; "
              + "".join(f"[ -e {p} ] && echo \"{p} $(stat -c %s {p}) $(head -c 60 {p} 2>/dev/null | tr -d '\\n')\"; "
                        for p in FILES) + served_section(n.ip, n.connected))
    return Observed(world.postfix(node).exec(["sh", "-c", script]).decode(), kinds)


def check(world: MailTopology, node: str, base: Observation, seen: Observation, faults: list[F.Fault],
          where: str) -> None:
    assert isinstance(base, Observed) and isinstance(seen, Observed)
    want = dict(base.params)
    for f in faults:  # the last applied fault that sets a parameter wins; none left: the baseline value
        want.update(params_of(f, node))
    assert seen.params == want, f"{node}: {where}"
    mine = [f for f in faults if f.node == node]
    gone = {f.user for f in mine if isinstance(f, F.UnknownUser)}
    assert seen.tables["local_recipients"] == [ln for ln in base.tables["local_recipients"]
                                               if ln.split()[0] not in gone], f"{node}: {where}"
    assert seen.tables["aliases"] == base.tables["aliases"] + [
        f"{f.user} {f.to}" for f in mine if isinstance(f, F.Forward) and f.via == "alias"], f"{node}: {where}"
    assert seen.tables["virtual"] == base.tables["virtual"] + [
        f"{f.user}@{world.node(node).domain} {f.to}" for f in mine
        if isinstance(f, F.Forward) and f.via == "virtual"], f"{node}: {where}"
    assert seen.tables["refuse"] == base.tables["refuse"] + [
        f"{f.address} {f.reply}" for f in mine if isinstance(f, F.Refuse)], f"{node}: {where}"
    # smtpd reads the refusals from their index (lmdb:): it holds the text's entries, the first line of a key
    # winning as with any Postfix table
    index: dict[str, str] = {}
    for ln in seen.tables["refuse"]:
        key, _, reply = ln.partition(" ")
        index.setdefault(key.lower(), reply.strip())
    assert sorted(seen.tables["refuse.lmdb"]) == sorted(f"{k}\t{v}" for k, v in index.items()), \
        f"{node}: the index of the refusals is not their text; {where}"
    # TlsPolicy: the level for each next hop the node can send to, in its policy table and that table's index (the
    # client's own level stays the baseline's); the level applied last holds
    levels = [f.level for f in mine if isinstance(f, F.TlsPolicy)]
    keys = world.postfix(node).tls_policy_keys
    assert keys, f"{node}: a node of the image's main.cf has next hops in its TLS policy table"
    policy = [f"{k} {levels[-1]}" for k in keys] if levels else []
    assert seen.tables["tls_policy"] == policy, f"{node}: {where}"
    assert sorted(seen.tables["tls_policy.lmdb"]) == sorted(ln.replace(" ", "\t", 1) for ln in policy), \
        f"{node}: the index of the TLS policy is not its text; {where}"
    down = any(isinstance(f, F.Down) and not f.whole_host for f in mine)
    assert (seen.smtp_service == "") is down, f"{node}: smtp/inet {seen.smtp_service!r}; {where}"
    forwards = [f for f in mine if isinstance(f, F.Forward) and f.via == "forward"]
    assert seen.files.get("/var/mail/jill/.forward", (0, ""))[1] == (forwards[-1].to if forwards else ""), where
    assert ("/var/mail/.mh-fill" in seen.files) is any(isinstance(f, F.DiskFull) for f in mine), where
    quota = [f for f in mine if isinstance(f, F.MailboxFull)]
    assert seen.files.get("/var/spool/mh-mbox/jill", (0, ""))[0] == (quota[-1].limit - 16 if quota else 0), where
    # the spool MailboxFull switches delivery to is there while it holds, gone with it (base: a node reset)
    assert ("/var/spool/mh-mbox" in seen.files) is bool(quota), f"{node}: {where}"
    check_served(node, seen.served, faults, int(want["message_size_limit"]), where)
