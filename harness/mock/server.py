"""Command line: the mock SMTP server as the mock-smtp container runs it.

::

    python3 -m harness.mock.server --host 0.0.0.0 --port 25 \\
        --spool /var/spool/mock --script /etc/mock/script.json --hostname mx.example.edu

Runs until SIGTERM/SIGINT.  The script file is re-read whenever its
mtime/size/inode change (checked at each new connection and each command);
a missing file means the default script.  Records go to the spool
directory (see :mod:`harness.mock.spool`); nothing is kept in memory after a
session ends.  One line per event goes to stdout, flushed::

    mock: listening on 0.0.0.0:25
    mock: session 3 connect 172.18.0.2:41022 -> 220 mx.example.edu ESMTP mock
    mock: session 3 rule 1 (rcpt *@slow.example) step 0 hit 1: 451 4.3.2 busy
    mock: session 3 RCPT TO:<x@slow.example> NOTIFY=FAILURE -> 451 4.3.2 busy
    mock: session 3 message 3-1 from <a@b> to <c@d> 312 bytes
    mock: session 3 closed (quit)

Only the standard library and aiosmtpd are imported, so the package
directory can be copied into an image as is.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import signal
import socket
import sys
from collections.abc import Sequence

import aiosmtpd

from .aio import close_server
from .protocol import MockSMTPProtocol
from .recorder import Recorder, RecordSink
from .spool import SpoolWriter
from .state import ScriptFile, ScriptState
from .tls import Certificates, FaultFiles


def log_line(text: str) -> None:
    """Print one event line (``mock: ...``) and flush, for ``docker logs -f``."""
    sys.stdout.write(f"mock: {text}\n")
    sys.stdout.flush()


async def serve(
    host: str,
    port: int,
    *,
    hostname: str,
    spool: str | None = None,
    script_path: str | None = None,
    idle_timeout: float = 3600.0,
    stop: asyncio.Event | None = None,
    more_ports: Sequence[int] = (),
    tls: tuple[str, str] | None = None,
    tls_dir: str | None = None,
    faults_dir: str | None = None,
) -> None:
    """Serve until ``stop`` is set (or SIGTERM/SIGINT when ``stop`` is None): on `port` and `more_ports` (a
    relayhost's submission port, 587), with STARTTLS when `tls_dir` holds the certificates of each kind (the
    harness's, harness.mock.tls) or `tls` names a certificate and its key (the valid one where `tls_dir` has none);
    `faults_dir`: where the harness's TLS faults write their files."""
    loop = asyncio.get_running_loop()
    state = ScriptState()
    watcher = ScriptFile(script_path, state, log_line) if script_path else None
    if watcher is not None:
        watcher.check()
    sinks: list[RecordSink] = []
    first = 1
    if spool:
        writer = SpoolWriter(spool)
        sinks.append(writer)
        first = writer.next_session_id()
    recorder = Recorder(keep=False, sinks=sinks, log=log_line, first_session_id=first)
    connections: set[MockSMTPProtocol] = set()
    certificates = Certificates(tls_dir, fallback=tls)
    faults = FaultFiles(faults_dir)

    def factory() -> MockSMTPProtocol:
        return MockSMTPProtocol(
            state,
            recorder,
            hostname=hostname,
            idle_timeout=idle_timeout,
            loop=loop,
            refresh=None if watcher is None else watcher.check,
            connections=connections,
            certificates=certificates,
            faults=faults,
        )

    servers = [await loop.create_server(factory, host, p) for p in dict.fromkeys((port, *more_ports))]
    if stop is None:
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    log_line(f"aiosmtpd {aiosmtpd.__version__}, Python {platform.python_version()}, STARTTLS with "
             + certificates.describe())
    for server in servers:
        bound = server.sockets[0].getsockname()
        log_line(f"listening on {bound[0]}:{bound[1]}")
    await stop.wait()
    log_line("stopping")
    for server in servers:
        await close_server(server, connections)
    log_line("stopped")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python3 -m harness.mock.server", description="Scripted mock SMTP server")
    p.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    p.add_argument("--port", type=int, action="append", help="port (default 25; 0 picks a free one); repeat it to "
                   "listen on more (a relayhost's 587)")
    p.add_argument("--tls-cert", default=None, help="certificate (PEM) for STARTTLS")
    p.add_argument("--tls-key", default=None, help="its private key (PEM)")
    p.add_argument("--tls-dir", default=None, help="the certificates by kind (KIND.crt and key.pem), the harness's")
    p.add_argument("--faults", default=None, help="the folder where the harness's TLS faults write their files")
    p.add_argument("--spool", default=None, help="directory for session and message records")
    p.add_argument("--script", default=None, help="JSON script file, re-read when it changes")
    p.add_argument("--hostname", default=socket.gethostname(), help="name in the banner and EHLO reply")
    p.add_argument("--idle-timeout", type=float, default=3600.0, help="seconds before an idle connection is closed")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    ports = args.port or [25]
    asyncio.run(
        serve(
            args.host,
            ports[0],
            hostname=args.hostname,
            spool=args.spool,
            script_path=args.script,
            idle_timeout=args.idle_timeout,
            more_ports=ports[1:],
            tls=(args.tls_cert, args.tls_key) if args.tls_cert and args.tls_key else None,
            tls_dir=args.tls_dir,
            faults_dir=args.faults,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
