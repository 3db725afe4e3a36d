"""A user's own Postfix configuration: asked about once per process (harness.mta.postfix.configfacts), and what
the harness changes in it to run it in a topology (OVERRIDES, put in place by containers/postfix/user-config.sh).

The configuration's validity is Postfix's to judge: the node runs `postfix check` at start and a refusal is
reported with Postfix's own words (ConfigRefused), within seconds.
"""

from __future__ import annotations

from pathlib import Path

from ..facts import ConfigError, ConfigInfo
from .configfacts import resolve_config

_ASKED: dict[tuple[str, str, tuple[tuple[str, int, int], ...]], ConfigInfo] = {}

# What the harness changes in a user's configuration, and why. Shown in reports.
OVERRIDES: tuple[tuple[str, str], ...] = (
    ("maillog_file = /dev/stdout", "the mail log is the container's log, followed as events"),
    ("inet_interfaces = all, inet_protocols = ipv4", "listen on the topology's network"),
    ("chroot = n for every service (master.cf)", "no copies of resolv.conf in a chroot"),
    ("queue_run_delay = 1s, minimal_backoff_time = 1s, maximal_backoff_time = 1s", "retries in seconds, not minutes"),
    ("smtpd_error_sleep_time = 0", "no pause before error replies"),
    ("postscreen_greet_wait = 1s", "postscreen's pregreet test holds each new client 1 s, not 6"),
    ("transport_maps = the topology's domains only; default_transport = relay_transport = error:5.7.1",
     "mail can never leave the topology (the network is internal as well)"),
    ("indexed tables rebuilt with postmap/postalias", "the .db files are built for this Postfix"),
)


def inspect_config(directory: str | Path, recipient: str = "") -> ConfigInfo:
    """Ask Postfix (in a probe container of the node image) what the configuration in `directory` serves and
    which recipients its tables know; `recipient` is one the user vouches for (--mta-recipient)."""
    d = Path(directory)
    if not (d / "main.cf").is_file():
        raise ConfigError(f"{d}: no main.cf here (expected a Postfix configuration directory)")
    # Asked once per process for the same files (mailharness check asks before pytest starts, then the plugin).
    stamp = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(d.resolve().rglob("*"))
                  if p.is_file())
    key = (str(d.resolve()), recipient, stamp)
    if key not in _ASKED:
        _ASKED[key] = resolve_config(d, recipient)
    return _ASKED[key]
