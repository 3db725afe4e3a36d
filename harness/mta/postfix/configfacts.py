"""One probe session per configuration (harness.probe): put the configuration and the files it names in place,
ask Postfix for the values, domains and recipients (harness.resolve), and return a ConfigInfo.

Files the configuration names outside its folder (/etc/mailname, /etc/aliases, TLS certificates and keys) are
taken from the same path on this host when readable (unless MAILHARNESS_HOST_FILES=ignore: `mailharness matrix`,
whose table must not depend on the machine), otherwise the image's own or made with the obvious content; each gets
a note.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

from ..facts import ConfigError, ConfigInfo
from . import outbound as sending
from . import recipients
from .probe import USER_DIR, Probe
from .resolve import Tables, is_domain, is_table, is_unreadable, items, query_table
from .routes import routes

VALUE_PARAMS = ("myhostname", "mydomain", "myorigin", "mydestination", "virtual_alias_domains", "virtual_alias_maps",
                "virtual_mailbox_domains", "virtual_mailbox_maps", "relay_domains", "relay_recipient_maps",
                "local_recipient_maps", "alias_maps", "recipient_delimiter", "transport_maps", "mail_spool_directory",
                "home_mailbox", "mailbox_command", "mailbox_transport", "local_transport", "virtual_transport",
                "virtual_mailbox_base", "virtual_uid_maps", "virtual_gid_maps", "content_filter", "smtpd_milters",
                "non_smtpd_milters", "smtpd_recipient_restrictions", "smtpd_relay_restrictions",
                "smtpd_client_restrictions", "smtpd_sender_restrictions", "smtpd_helo_restrictions",
                "smtpd_data_restrictions", "smtpd_end_of_data_restrictions", "postscreen_dnsbl_sites",
                "smtpd_tls_security_level", "smtpd_sasl_auth_enable", "smtpd_sasl_type",
                "smtpd_reject_unlisted_recipient", *sending.PARAMS)
_INDEXED = ("hash", "btree", "lmdb", "cdb", "dbm", "sdbm")
_TABLE_FILE = re.compile(r"^(?:proxy:)?([a-z0-9]+):(/[^\s,{}]+)$")
_TLS = ("cert", "key", "ca", "chain", "other")


def settings(answer_out: str) -> dict[str, str]:
    """postconf's own output (`name = value` a line) as a dict."""
    out: dict[str, str] = {}
    for line in answer_out.splitlines():
        name, sep, value = line.partition(" = ")
        if sep:
            out[name.strip()] = value.strip()
        elif line.strip().endswith(" ="):
            out[line.strip()[:-2].strip()] = ""
    return out


def named_files(values: dict[str, str]) -> dict[str, str]:
    """Files the settings name, by kind: mailname, aliases, table, list, tls-cert, tls-key, tls-ca, tls-chain."""
    files: dict[str, str] = {}
    for name, value in values.items():
        base = name.rsplit("/", 1)[-1]  # master.cf -o overrides come as service/type/name
        if base.endswith(("_file", "_files", "_CAfile", "_path")) and "tls" in base:
            kind = ("tls-chain" if base.endswith("_files") else "tls-key" if "key" in base else
                    "tls-ca" if "CA" in base else "tls-cert" if "cert" in base else "tls-other")
            for it in items(value):
                if it.startswith("/"):
                    files.setdefault(it, kind)
            continue
        if base.endswith("_cache_database"):  # Postfix's own caches, made by its daemons
            continue
        if base == "myorigin" and value.startswith("/"):
            files.setdefault(value, "mailname")
            continue
        for it in items(value):
            m = _TABLE_FILE.match(it)
            if m:
                files.setdefault(m.group(2), "aliases" if base in ("alias_maps", "alias_database") else "table")
            elif it.startswith("/") and (base.endswith(("_domains", "_networks")) or base == "mydestination"):
                files.setdefault(it, "list")
    return files


def host_files() -> bool:
    """Whether files the configuration names outside its folder are read from this host: yes, unless the
    environment says MAILHARNESS_HOST_FILES=ignore."""
    value = os.environ.get("MAILHARNESS_HOST_FILES", "").strip().lower()
    if value not in ("", "use", "ignore"):
        raise ConfigError(f"MAILHARNESS_HOST_FILES={value!r}: expected use (the default) or ignore")
    return value != "ignore"


def _outside_files(probe: Probe, named: dict[str, str], hostname: str,
                   notes: list[str]) -> tuple[dict[str, bytes], str]:
    """The files named outside the configuration's folder that the image lacks: from this host, or made; and where
    the TLS files come from (ConfigInfo.tls_files)."""
    # Outside the folder; TLS files anywhere (nobody ships a private key with a configuration).
    paths = [p for p in named if not p.startswith("/etc/postfix/") or named[p].startswith("tls")]
    in_image = {p for p, a in zip(paths, probe.run([["test", "-e", p] for p in paths]), strict=True) if a.ok}
    out: dict[str, bytes] = {}
    host: dict[str, bytes] = {}
    use_host = host_files()
    absent = "not on this host" if use_host else "not read from this host (MAILHARNESS_HOST_FILES=ignore)"
    for p in paths if use_host else ():
        try:
            host[p] = Path(p).read_bytes()
        except OSError:
            pass
    tls = [p for p in paths if named[p].startswith("tls")]
    tls_missing: list[str] = []
    source = ""
    if tls and all(p.startswith("/etc/postfix/") and p in in_image for p in tls):  # shipped in the folder itself
        source = "folder"
        notes.append(f"TLS files: the configuration's own (in its folder): {', '.join(tls)}")
    elif tls and all(p in host for p in tls):  # the host's own pair (a cert and its key must match)
        source = "host"
        out.update({p: host[p] for p in tls})
        notes.append(f"TLS files taken from this host: {', '.join(tls)}")
    elif tls and all(p in in_image for p in tls):
        source = "image"
        unread = "not all readable on this host" if use_host else absent
        notes.append(f"TLS files: {unread}; the image's own: {', '.join(tls)}")
    elif tls:
        tls_missing = tls
    for p in paths:
        if named[p].startswith("tls"):
            continue
        if p in host:
            out[p] = host[p]
            notes.append(f"{p}: taken from this host")
        elif p in in_image:
            notes.append(f"{p}: {absent}; the image's own (Debian's default)")
        else:
            kind = named[p]
            content = {"mailname": f"{hostname}\n", "aliases": "postmaster: root\n"}.get(kind, "")
            out[p] = content.encode()
            notes.append(f"{p}: {absent}; made with " + (repr(content.strip()) if content else "nothing in it"))
    if tls_missing:
        # One self-signed certificate for every TLS file that is missing (a cert and a key must match).
        a = probe.sh(f"openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN={hostname} "
                     "-keyout /tmp/mh.key -out /tmp/mh.crt >/dev/null 2>&1 && cat /tmp/mh.key && cat /tmp/mh.crt")
        pem = a.out
        key = pem[:pem.index("-----BEGIN CERTIFICATE")] if "-----BEGIN CERTIFICATE" in pem else ""
        cert = pem[len(key):]
        if not a.ok or not key:
            notes.append(f"could not make a self-signed certificate ({a.out.strip()[-200:]}); TLS files missing: "
                         + ", ".join(tls_missing))
        else:
            for p in tls_missing:
                kind = named[p]
                out[p] = (key if kind == "tls-key" else key + cert if kind == "tls-chain" else cert).encode()
            notes.append(f"TLS files made (self-signed for {hostname}): {', '.join(tls_missing)}")
            source = "made"
    return out, source




def _stand_ins(probe: Probe, tables: dict[str, None], notes: list[str]) -> tuple[str, ...]:
    """What the node stands in for (standins.py plan, run in the probe), and what nothing can stand in for."""
    a = probe.sh("python3 /usr/local/bin/standins.py plan")
    try:
        plan = json.loads(a.out)
    except json.JSONDecodeError:
        notes.append(f"the stand-ins could not be planned: {(a.out + a.err).strip()[-300:]}")
        return ()
    notes += [str(c) for c in plan.get("cannot", [])]
    for t in tables:
        kind = query_table(t).split(":", 1)[0]
        if is_unreadable(t):
            notes.append(f"{t}: a {kind} table cannot be read here (no database in the topology); what depends on "
                         "it is not judged (--mta-table PARAM=FILE puts a texthash copy in its place)")
    return tuple(f"{e['kind']}: {e['spec']}" + (f" (hands mail back to {e['to']})" if e.get("to") else "")
                 for e in plan.get("standins", []))


def resolve_config(d: Path, recipient: str = "", domains: Sequence[str] = ()) -> ConfigInfo:
    with Probe(d) as probe:
        return _resolve(d, probe, recipient.strip().lower(), [x.strip().lower() for x in domains])


def _resolve(d: Path, probe: Probe, recipient: str, domains: list[str]) -> ConfigInfo:
    """The steps of reading a configuration, in order: who the server is, the values Postfix gives, the domains
    it serves, its Unix accounts, and the recipients Postfix's lookups know and do not know."""
    notes: list[str] = []
    hostname, domain, defaults, explicit, px = _identity(d, probe)
    named = named_files({**defaults, **explicit, **px})
    files, tls_files = _outside_files(probe, named, hostname, notes)
    probe.put(files)
    # The indexed tables, built as the node builds them (user-config.sh; errors are Postfix's to report when the
    # node starts), then the values Postfix gives the parameters the harness reads.
    named_tables = dict.fromkeys(it for n, v in {**explicit, **defaults}.items() for it in items(v)
                                 if is_table(it) and not n.endswith("_cache_database"))
    alias_tables = {t for t in items(defaults.get("alias_maps", "")) if is_table(t)}
    build = [["postalias" if t in alias_tables else "postmap", query_table(t)] for t in named_tables
             if query_table(t).split(":", 1)[0] in _INDEXED and ":/" in t]
    values = settings(probe.run([*build, ["postconf", "-x", *VALUE_PARAMS]])[-1].out)
    tables = Tables(probe, aliases={t for t in items(values.get("alias_maps", "")) if is_table(t)})
    unreadable = recipients.unreadable(values)
    relay = sending.outbound(probe, values, notes)
    found = recipients.served(d, probe, values, tables, [hostname, domain], recipient, notes, vouched=domains,
                              unread=unreadable, explicit=set(explicit), sends=relay is not None)
    primary = domain if domain in found.served or not found.served else next(iter(found.served))
    listens = sending.listens(values)
    inbound_na = ("" if listens and found.served else
                  f"no listener on the network (inet_interfaces = {values.get('inet_interfaces', '')})" if not listens
                  else "it serves no domain (mydestination, virtual_*_domains and relay_domains are empty): it "
                  "only sends")
    accounts = recipients.accounts(probe, values, tables, found, recipient)
    known, known_reason = recipients.known(values, tables, found, accounts, primary, recipient, notes)
    unknown, unknown_reason = recipients.unknown(values, tables, found.served, primary)
    relay_unknown, relay_unknown_reason = recipients.relay_unknown(values, tables, found.served)
    recipients.warn(values, found.served, notes)
    stand_ins = _stand_ins(probe, named_tables, notes)
    served = found.served
    local_d = tuple(x for x, k in served.items() if k == "local" and x != hostname)
    virtual_d = tuple(x for x, k in served.items() if k in ("virtual alias", "virtual mailbox"))
    relay_d = tuple(x for x, k in served.items() if k == "relay")
    # Where each known recipient's mail ends (the requirements pick by it: harness.sut.conformance).
    ways = routes(list(dict.fromkeys(r.address for r in known)), values, tables, served)
    first = ways[0] if ways else None
    return ConfigInfo(d, values, hostname, primary, local_d, virtual_d, relay_d,
                      tuple(r.address for r in ways), tuple(accounts.created),
                      tuple(dict.fromkeys(notes)), unknown=unknown, unknown_reason=unknown_reason,
                      known_reason=known_reason, delivered_here=first is not None and first.stored_here,
                      files=tuple(sorted(files.items())), relay_unknown=relay_unknown, stand_ins=stand_ins,
                      lmtp_delivery=first is not None and first.kind == "lmtp",
                      relay_unknown_reason=relay_unknown_reason, routes=tuple(ways),
                      unreadable=tuple(f"{p} = {t}" for p, t in unreadable), outbound=relay,
                      inbound_na=inbound_na, tls_files=tls_files)


def _identity(d: Path, probe: Probe) -> tuple[str, str, dict[str, str], dict[str, str], dict[str, str]]:
    """The configuration in place in the probe; the server's host name and domain (the node gets that host
    name), Postfix's defaults of the table parameters, the explicit settings of main.cf and master.cf's."""
    _, nx, px, dflt = probe.run([["cp", "-a", f"{USER_DIR}/.", "/etc/postfix/"], ["postconf", "-nx"],
                                 ["postconf", "-Px"], ["postconf", "-x", "alias_maps", "local_recipient_maps"]])
    explicit = settings(nx.out)
    hostname = explicit.get("myhostname", "").lower()
    domain = explicit.get("mydomain", "").lower()
    if not domain and hostname.count(".") >= 2:
        domain = hostname.split(".", 1)[1]
    if not hostname and domain:
        hostname = f"mx.{domain}"
    if not domain or not is_domain(domain):
        raise ConfigError(f"{d}/main.cf: set mydomain or a fully qualified myhostname (the harness serves that "
                          "domain in its DNS)")
    if "myhostname" not in explicit:  # the node's host name, as the node will have it
        probe.run([["postconf", "-e", f"myhostname={hostname}"]])
    return hostname, domain, settings(dflt.out), explicit, settings(px.out)
