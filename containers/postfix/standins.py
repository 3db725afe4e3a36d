"""Stand-ins for the services a user's Postfix configuration names on this host, so that it runs as configured:

  milter          smtpd_milters / non_smtpd_milters on a local address: accepts everything
  policy          check_policy_service on a local address (or a master.cf spawn service): answers DUNNO
  content filter  content_filter to a local address: hands the SMTP session over, byte for byte, to the
                  configuration's own re-injection listener (master.cf)
  dovecot         lmtp: delivery (virtual_transport, mailbox_transport, local_transport) to a local socket or
                  port: a real Dovecot (dovecot-lmtpd, quota plugin) with a Maildir per recipient under
                  /var/mail/.mh-dovecot (the file system DiskFull fills)
  lmtp            the same without Dovecot in the image: one Maildir per recipient under /var/mail/.mh-lmtp (a
                  full disk is "452 4.3.1" for that recipient)
  dovecot-auth    smtpd's SASL back end (smtpd_sasl_auth_enable = yes, smtpd_sasl_type = dovecot) on a local
                  socket (smtpd_sasl_path): the same real Dovecot's auth service, offering PLAIN and LOGIN. It stands
                  in for where the passwords are, not for them: it accepts any login (the harness judges where
                  AUTH is offered, not who may use it), and refuses a password in clear as Dovecot does by default

    standins.py plan          what would be stood in for, and what cannot be (JSON, for the harness's output)
    standins.py prepare       point master.cf spawn policy services at the DUNNO answerer (before master starts)
    standins.py run           start them (in the background of user-config.sh), then write /run/mh-standins.ready
    standins.py policy-stdio  one policy conversation on stdin/stdout (a master.cf spawn service)

Standard library only; the process calls itself "mh-standins" (the harness tells it from Postfix's daemons).
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import re
import socket
import struct
import subprocess
import sys
import time

QUEUE = "/var/spool/postfix"
LMTP_STORE = "/var/mail/.mh-lmtp"
DOVECOT = "/usr/sbin/dovecot"
DOVECOT_HOMES = "/var/mail/.mh-dovecot"  # on the file system DiskFull fills
DOVECOT_CONF = "/etc/dovecot/mailharness.conf"
VMAIL_UID = 5000
DOVECOT_QUOTAS = "/etc/dovecot/mh-quota"  # one passwd-file per recipient with a quota (harness.mta.postfix.faults)
LOCAL = ("localhost", "127.0.0.1", "::1", "")


def postconf(*names: str) -> dict[str, str]:
    out = subprocess.run(["postconf", "-x", *names], capture_output=True, text=True).stdout
    return {k.strip(): v.strip() for k, _, v in (line.partition(" = ") for line in out.splitlines())}


def items(value: str) -> list[str]:
    return [x for x in re.split(r"[\s,]+", value.replace("{", " ").replace("}", " ")) if x]


def endpoint(spec: str, default_kind: str = "inet") -> tuple[str, str] | None:
    """inet:host:port, unix:path, local:path, [host]:port, host:port -> ("inet", "host:port") or ("unix", path);
    None for a host other than this one."""
    kind, _, rest = spec.partition(":")
    if kind not in ("inet", "unix", "local"):
        kind, rest = default_kind, spec
    if kind in ("unix", "local"):
        return "unix", rest if rest.startswith("/") else f"{QUEUE}/{rest}"
    host, _, port = rest.rpartition(":")
    host = host.strip("[]")
    # this host's loopback (the node listens on IPv4 only: inet_protocols = ipv4)
    return ("inet", f"127.0.0.1:{port}") if host in LOCAL and port.isdigit() else None


def master_services() -> list[list[str]]:
    out = subprocess.run(["postconf", "-M"], capture_output=True, text=True).stdout
    return [line.split() for line in out.splitlines() if line.strip()]


def plan() -> dict[str, list[dict[str, str]] | list[str]]:
    v = postconf("smtpd_milters", "non_smtpd_milters", "content_filter", "virtual_transport", "mailbox_transport",
                 "local_transport", "smtpd_sasl_auth_enable", "smtpd_sasl_type", "smtpd_sasl_path",
                 *[n for n in postconf() if n.endswith("_restrictions")])
    services = master_services()
    stand: list[dict[str, str]] = []
    cannot: list[str] = []
    seen: set[str] = set()

    def add(kind: str, spec: str, ep: tuple[str, str] | None, **extra: str) -> None:
        if ep is None:
            cannot.append(f"{kind} {spec}: not on this host; the harness cannot stand in for it")
        elif ep[1] not in seen:
            seen.add(ep[1])
            stand.append({"kind": kind, "spec": spec, "type": ep[0], "address": ep[1], **extra})

    for m in dict.fromkeys(items(v.get("smtpd_milters", "")) + items(v.get("non_smtpd_milters", ""))):
        if "=" not in m:
            add("milter", m, endpoint(m))
    for name, value in v.items():
        if not name.endswith("_restrictions"):
            continue
        toks = items(value)
        for i, tok in enumerate(toks[:-1]):
            if tok == "check_policy_service":
                spec = toks[i + 1]
                ep = endpoint(spec)
                svc = ep[1].removeprefix(f"{QUEUE}/private/") if ep and ep[0] == "unix" else ""
                spawn = [s for s in services if svc and s[0] == svc and s[1] == "unix" and "spawn" in s[7:8]]
                if spawn:
                    if svc not in seen:
                        seen.add(svc)
                        stand.append({"kind": "policy", "spec": spec, "type": "spawn", "address": svc,
                                      "line": " ".join(spawn[0][:7])})
                    continue
                add("policy", spec, ep)
    filters = [v.get("content_filter", "")] + [s.split("=", 1)[1] for svc in services for s in svc
                                                if s.startswith("content_filter=")]
    reinject = [s[0] for s in services if s[1] == "inet" and s[0].rpartition(":")[0].strip("[]") in LOCAL[:3]
                and "content_filter=" in s]
    for f in dict.fromkeys(x for x in filters if x):
        _, _, nexthop = f.partition(":")
        if not reinject:
            cannot.append(f"content_filter {f}: no re-injection listener (an inet service on 127.0.0.1 with "
                          "-o content_filter=) in master.cf to hand the mail back to")
            continue
        host, _, port = reinject[0].rpartition(":")
        add("content filter", f, endpoint(nexthop or f), to=f"{host.strip('[]') or '127.0.0.1'}:{port}")
    # LMTP delivery to this host: a real Dovecot (the image's dovecot-lmtpd) where the image has one.
    kind = "dovecot" if os.path.exists(DOVECOT) else "lmtp"
    for name in ("virtual_transport", "mailbox_transport", "local_transport"):
        t = v.get(name, "")
        if t.startswith("lmtp:"):
            add(kind, f"{name} = {t}", endpoint(t.removeprefix("lmtp:")))
    # smtpd's SASL back end: Dovecot's auth socket (where the image has Dovecot; smtpd dies without it).
    if v.get("smtpd_sasl_auth_enable", "no").lower() == "yes" and v.get("smtpd_sasl_type", "") == "dovecot":
        path = v.get("smtpd_sasl_path", "")
        if os.path.exists(DOVECOT):
            add("dovecot-auth", f"smtpd_sasl_path = {path}", endpoint(path, "unix"))
        else:
            cannot.append(f"smtpd_sasl_path = {path}: no Dovecot in the image to stand in for its auth service")
    return {"standins": stand, "cannot": cannot}


# -- the servers ----------------------------------------------------------------------------------------------
async def policy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            if line in (b"\n", b"\r\n"):
                writer.write(b"action=DUNNO\n\n")
                await writer.drain()
    finally:
        writer.close()


async def milter(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """The milter protocol (version 6): negotiate, then "continue" to every step that expects a reply."""
    try:
        while True:
            head = await reader.readexactly(4)
            data = await reader.readexactly(struct.unpack(">I", head)[0])
            cmd, body = data[:1], data[1:]
            if cmd == b"O":
                version = min(6, struct.unpack(">I", body[:4])[0]) if len(body) >= 4 else 2
                reply = b"O" + struct.pack(">III", version, 0, 0)
            elif cmd in (b"D", b"A"):  # macros, abort: no reply
                continue
            elif cmd == b"Q":
                break
            else:  # connect, helo, mail, rcpt, data, header, eoh, body, unknown, end of message
                reply = b"c"
            writer.write(struct.pack(">I", len(reply)) + reply)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def pass_through(to: str):  # noqa: ANN201 (a handler factory)
    host, _, port = to.rpartition(":")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_r, up_w = await asyncio.open_connection(host, int(port))

        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            try:
                while data := await r.read(65536):
                    w.write(data)
                    await w.drain()
            except ConnectionError:
                pass
            finally:
                w.close()

        await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))

    return handle


async def lmtp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    def say(text: str) -> None:
        writer.write(text.encode() + b"\r\n")

    say(f"220 {socket.gethostname()} LMTP mailharness stand-in (Dovecot's place)")
    rcpts: list[str] = []
    try:
        while True:
            line = (await reader.readline()).decode("utf-8", "replace").rstrip("\r\n")
            if not line:
                break
            verb = line.split(" ", 1)[0].upper()
            if verb == "LHLO":
                say("250-mailharness\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME")
            elif verb == "MAIL":
                rcpts = []
                say("250 2.1.0 OK")
            elif verb == "RCPT":
                m = re.search(r"<([^>]*)>", line)
                rcpts.append(m.group(1) if m else "")
                say("250 2.1.5 OK")
            elif verb == "DATA":
                say("354 OK")
                await writer.drain()
                lines = []
                while (chunk := await reader.readline()) not in (b".\r\n", b".\n", b""):
                    lines.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                for r in rcpts:
                    say(store(r, b"".join(lines)))
            elif verb == "RSET":
                rcpts = []
                say("250 2.0.0 OK")
            elif verb == "QUIT":
                say("221 2.0.0 Bye")
                break
            else:
                say("250 2.0.0 OK")
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


def store(rcpt: str, message: bytes) -> str:
    box = os.path.join(LMTP_STORE, rcpt.lower().replace("/", "_") or "_")
    name = f"{time.time():.6f}.{os.getpid()}.mh"
    try:
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(box, sub), exist_ok=True)
        with open(os.path.join(box, "tmp", name), "wb") as fh:
            fh.write(message)
        os.rename(os.path.join(box, "tmp", name), os.path.join(box, "new", name))
        return f"250 2.0.0 <{rcpt}> Saved"
    except OSError as exc:
        if exc.errno in (28, 122):  # ENOSPC, EDQUOT
            return f"452 4.3.1 <{rcpt}> Insufficient system storage"
        return f"451 4.3.0 <{rcpt}> Temporary internal error: {exc.strerror}"


def dovecot_version() -> tuple[int, ...]:
    """The image's Dovecot as (major, minor): `dovecot --version` says "2.3.19.1 (9b53102964)" or "2.4.1-4 (...)"."""
    try:
        out = subprocess.run([DOVECOT, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return (2, 3)
    m = re.match(r"\s*(\d+)\.(\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else (2, 3)


def _listeners(entries: list[dict[str, str]], address_setting: str) -> list[str]:
    """The LMTP service's listeners: a unix socket, or an inet address whose setting is `address_setting`."""
    out = []
    for i, e in enumerate(entries):
        if e["kind"] != "dovecot":  # smtpd's SASL sockets are the auth service's (_auth)
            continue
        if e["type"] == "unix":
            out.append(f"  unix_listener {e['address']} {{\n    mode = 0666\n  }}")
        else:
            host, _, port = e["address"].rpartition(":")
            out.append(f"  inet_listener lmtp{i} {{\n    {address_setting} = {host}\n    port = {port}\n  }}")
    return out


def _auth(entries: list[dict[str, str]]) -> list[str]:
    """The auth service: its own userdb listener (for LMTP), and smtpd's SASL sockets (dovecot-auth entries)."""
    sockets = [f"  unix_listener {e['address']} {{\n    mode = 0666\n  }}" for e in entries
               if e["kind"] == "dovecot-auth" and e["type"] == "unix"]
    return (["auth_mechanisms = plain login"] if sockets else []) + [
        "service auth {\n  unix_listener auth-userdb {\n    mode = 0666\n  }\n" + "".join(s + "\n" for s in sockets)
        + "}", ""]


def dovecot_conf(entries: list[dict[str, str]], version: tuple[int, ...] = (2, 3)) -> str:
    """Dovecot for LMTP delivery only: every recipient Postfix hands it exists (Postfix decided that), with a
    Maildir under /var/mail/.mh-dovecot/<domain>/<user>, the quota plugin loaded (no limit unless a fault sets
    one), logging to stderr (not the Postfix log the harness parses). In the syntax of the Dovecot at hand: 2.3
    (bookworm) or 2.4 (trixie), whose settings and variables were renamed (dovecot_conf_24)."""
    if version >= (2, 4):
        return dovecot_conf_24(entries)
    listeners = _listeners(entries, "address")
    return "\n".join([
        "protocols = lmtp", "listen = 127.0.0.1", "base_dir = /run/dovecot-mh", "log_path = /dev/stderr",
        "ssl = no", "first_valid_uid = 1000", f"mail_location = maildir:{DOVECOT_HOMES}/%d/%n/Maildir",
        "mail_plugins = quota", "lmtp_rcpt_check_quota = yes",
        "passdb {\n  driver = static\n  args = nopassword=y\n}",
        # a quota for one recipient (the MailboxFull fault writes the file), else everyone without a limit
        f"userdb {{\n  driver = passwd-file\n  args = {DOVECOT_QUOTAS}/%u\n}}",
        f"userdb {{\n  driver = static\n  args = uid={VMAIL_UID} gid={VMAIL_UID} home={DOVECOT_HOMES}/%d/%n "
        "allow_all_users=yes\n}",
        "plugin {\n  quota = maildir:User quota\n  quota_rule = *:storage=0\n}",
        "service lmtp {\n" + "\n".join(listeners) + "\n}", *_auth(entries)])


def dovecot_conf_24(entries: list[dict[str, str]]) -> str:
    """The same for Dovecot 2.4: dovecot_config_version first; mail_driver/mail_path for mail_location;
    %{user|domain}, %{user|username}, %{user} for %d, %n, %u; named passdb/userdb blocks whose arguments are
    settings (passwd_file_path) and `fields`; the quota a named `quota` block (the count driver, 2.4's default),
    whose size a userdb field overrides (quota_storage_size: MailboxFull's per-recipient passwd-file line is
    `ADDRESS::5000:5000::HOME::userdb_quota_storage_size=BYTES`); an inet_listener's address is `listen`.
    quota_storage_grace is 0: 2.4's default (10 M, where 2.3's was 10 %) would take one message over a small limit."""
    listeners = _listeners(entries, "listen")  # 2.4's name for an inet listener's address
    home = f"{DOVECOT_HOMES}/%{{user|domain}}/%{{user|username}}"
    return "\n".join([
        "dovecot_config_version = 2.4.0", "dovecot_storage_version = 2.4.0",
        "protocols = lmtp", "listen = 127.0.0.1", "base_dir = /run/dovecot-mh", "log_path = /dev/stderr",
        "ssl = no", "first_valid_uid = 1000", "mail_driver = maildir", f"mail_path = {home}/Maildir",
        "mail_plugins {\n  quota = yes\n}", "lmtp_rcpt_check_quota = yes", "quota_storage_grace = 0",
        'quota "User quota" {\n}',
        "passdb static {\n  fields {\n    nopassword = y\n  }\n}",
        # a quota for one recipient (the MailboxFull fault writes the file), else everyone without a limit
        f"userdb passwd-file {{\n  passwd_file_path = {DOVECOT_QUOTAS}/%{{user}}\n}}",
        f"userdb static {{\n  fields {{\n    uid = {VMAIL_UID}\n    gid = {VMAIL_UID}\n    home = {home}\n  }}\n"
        "  userdb_static_allow_all_users = yes\n}",
        "service lmtp {\n" + "\n".join(listeners) + "\n}", *_auth(entries)])


async def dovecot(entries: list[dict[str, str]]) -> asyncio.subprocess.Process:
    os.makedirs(DOVECOT_QUOTAS, exist_ok=True)
    os.makedirs(DOVECOT_HOMES, exist_ok=True)
    os.chmod(DOVECOT_HOMES, 0o1777)
    for e in entries:
        if e["type"] == "unix":
            os.makedirs(os.path.dirname(e["address"]), exist_ok=True)
    with open(DOVECOT_CONF, "w") as fh:
        fh.write(dovecot_conf(entries, dovecot_version()))
    proc = await asyncio.create_subprocess_exec(DOVECOT, "-F", "-c", DOVECOT_CONF)
    for _ in range(100):  # its listeners exist: bounded, 5 s
        if all(os.path.exists(e["address"]) if e["type"] == "unix" else _connects(e["address"]) for e in entries):
            break
        await asyncio.sleep(0.05)
    return proc


def _connects(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=0.2).close()
        return True
    except OSError:
        return False


async def serve(entries: list[dict[str, str]]) -> None:
    servers = []
    doves = [e for e in entries if e["kind"] in ("dovecot", "dovecot-auth")]
    proc = await dovecot(doves) if doves else None
    for e in entries:
        handler = {"milter": milter, "policy": policy, "lmtp": lmtp}.get(e["kind"])  # dovecot: started above
        if e["kind"] == "content filter":
            handler = pass_through(e["to"])
        if handler is None or e["type"] == "spawn":
            continue
        try:
            if e["type"] == "unix":
                os.makedirs(os.path.dirname(e["address"]), exist_ok=True)
                if os.path.exists(e["address"]):
                    os.unlink(e["address"])
                servers.append(await asyncio.start_unix_server(handler, e["address"]))
                os.chmod(e["address"], 0o666)
            else:
                host, _, port = e["address"].rpartition(":")
                servers.append(await asyncio.start_server(handler, host, int(port), reuse_address=True))
        except OSError as exc:  # the others still run; user-config.sh shows this
            print(f"mailharness: stand-in {e['kind']} {e['address']}: {exc}", file=sys.stderr)
    with open("/run/mh-standins.ready", "w") as fh:
        fh.write("\n".join(f"{e['kind']} {e['address']}" for e in entries) + "\n")
    await asyncio.gather(*(s.serve_forever() for s in servers), *([proc.wait()] if proc else []))


def main() -> int:
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "plan":
        json.dump(plan(), sys.stdout)
        return 0
    if cmd == "policy-stdio":
        for line in sys.stdin:
            if line in ("\n", "\r\n"):
                sys.stdout.write("action=DUNNO\n\n")
                sys.stdout.flush()
        return 0
    entries = [e for e in plan()["standins"] if isinstance(e, dict)]
    if cmd == "prepare":  # before master starts: a spawn service runs our policy answerer instead of its command
        for e in entries:
            if e["type"] == "spawn":
                subprocess.run(["postconf", "-M", f"{e['address']}/unix={e['line']} spawn user=nobody "
                                f"argv=/usr/bin/python3 /usr/local/bin/standins.py policy-stdio"], check=False)
        return 0
    if cmd == "run":
        try:
            ctypes.CDLL(None).prctl(15, b"mh-standins", 0, 0, 0)  # PR_SET_NAME
        except (OSError, AttributeError):
            pass
        asyncio.run(serve(entries))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
