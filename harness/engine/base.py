"""The base images every mailharness image is built from, one per Debian release (suite): pulled, or made offline
from Debian's packages.

Route "pull": `debian:<suite>-slim` (local or pulled) plus `apt-get install` of the base's packages.txt
(containers/base/, or an MTA's own: containers/exim/). Route "offline": `debootstrap --variant=minbase <suite>` into
a temporary folder, from the Debian mirror the host's apt sources name (the same mirror serves every suite),
`apt-get install <packages>` inside it, then `docker import`. Chosen automatically ("auto", see `plan`): pull when
the slim image is present or can be pulled; offline otherwise, but only where the engine is local and this process
is root with debootstrap at hand (a remote engine, or a user without root, gets the pull route alone, and an error
that says so when the engine cannot pull).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import docker.errors

from ..errors import MailharnessError
from .docker import client

Progress = Callable[[str], None]
SUITE = "bookworm"  # the default release's suite (harness.mta.postfix.releases.DEFAULT); callers name theirs
log = logging.getLogger("mailharness")


class BuildError(MailharnessError, RuntimeError):
    """An image could not be built; the message says which step failed and how to fix it."""


def packages(base_dir: Path) -> list[str]:
    lines = (base_dir / "packages.txt").read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def slim(suite: str = SUITE) -> str:
    """Debian's slim image of `suite`, the pull route's start."""
    return f"debian:{suite}-slim"


def plan(route: str, *, local: bool, root: bool, debootstrap: bool, suite: str = SUITE) -> tuple[tuple[str, ...], str]:
    """The routes to try for the base image of `suite`, in order, and why (said to the user before the build)."""
    if route in ("pull", "offline"):
        return (route,), f"the {route} route, as asked"
    if route != "auto":
        raise BuildError(f"base image route {route!r}: expected auto, pull or offline")
    missing = [w for w, ok in (("a local engine (DOCKER_HOST is remote)", local), ("root", root),
                               ("debootstrap", debootstrap)) if not ok]
    if missing:
        return ("pull",), (f"the pull route (the engine pulls {slim(suite)}); the offline route needs "
                           f"{', '.join(missing)}")
    return ("pull", "offline"), (f"the pull route if {slim(suite)} can be had, else offline (debootstrap {suite}, "
                                 "apt-get install in it, then import)")


def host_mirror() -> str:
    """The Debian mirror of the host's apt sources (never a name written into the repository)."""
    if os.environ.get("MAILHARNESS_DEBIAN_MIRROR"):
        return os.environ["MAILHARNESS_DEBIAN_MIRROR"]
    deb822 = Path("/etc/apt/sources.list.d/debian.sources")
    if deb822.is_file():
        for line in deb822.read_text().splitlines():
            if line.startswith("URIs:"):
                uri = line.split(":", 1)[1].split()[0]
                if "security" not in uri:
                    return uri
    for f in [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*.list")]:
        if f.is_file():
            for line in f.read_text().splitlines():
                m = re.match(r"\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+", line)
                if m and "security" not in m.group(1):
                    return m.group(1)
    raise BuildError(
        "offline base image: no Debian mirror found in /etc/apt/sources.list.d/debian.sources or "
        "/etc/apt/sources.list; set MAILHARNESS_DEBIAN_MIRROR to a Debian mirror URL"
    )


def slim_available(progress: Progress, suite: str = SUITE) -> bool:
    c = client()
    image = slim(suite)
    try:
        c.images.get(image)
        return True
    except docker.errors.ImageNotFound:
        pass
    progress(f"pulling {image} ...")
    try:
        c.images.pull(image)
        return True
    except Exception as exc:  # APIError/ImageNotFound (no registry answers the daemon), requests' ConnectionError
        # or ReadTimeout, a broken pull stream: any failed pull means "build offline", which is always possible
        # and says itself what it is missing; the reason is shown (progress) and logged, not swallowed.
        log.debug("pull %s failed", image, exc_info=True)
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        progress(f"cannot pull {image} ({first[:120]}); building the base offline")
        return False


def build_offline(tag: str, pkgs: list[str], progress: Progress, suite: str = SUITE) -> None:
    """debootstrap a minbase rootfs of `suite`, install `pkgs` in it (apt-get) and import it as `tag`."""
    if shutil.which("debootstrap") is None:
        raise BuildError(
            "offline base image needs debootstrap (no registry can be reached): "
            "`apt-get install debootstrap` as root, or run `bash ci/ensure-docker.sh`, which installs it"
        )
    if os.geteuid() != 0:
        raise BuildError("offline base image: debootstrap must run as root (sudo mailharness images build)")
    mirror = host_mirror()
    with tempfile.TemporaryDirectory(prefix="mailharness-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        progress(f"debootstrap {suite} from {mirror}, then apt-get install {', '.join(pkgs)} in it (a minute or "
                 "two) ...")
        t0 = time.monotonic()
        _run_streaming(["debootstrap", "--variant=minbase", suite, str(rootfs), mirror], progress,
                       prefix="  debootstrap: ", every=25)
        _apt_install(rootfs, pkgs, progress)
        # Leave no package lists or caches in the image (apt-get update's pkgcache.bin and srcpkgcache.bin too).
        for sub in ("var/cache/apt/archives", "var/lib/apt/lists", "var/cache/apt"):
            for p in (rootfs / sub).glob("*"):
                if p.is_file():
                    p.unlink()
        progress(f"rootfs done in {time.monotonic() - t0:.0f}s; importing as {tag}")
        tarball = Path(tmp) / "rootfs.tar"
        subprocess.run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(tarball), "."], check=True)
        repo, _, version = tag.partition(":")
        out = client().api.import_image_from_file(str(tarball), repository=repo, tag=version)
        # Podman's Docker-compatible service ignores the tag of an import (the image is "repo:latest"): tag the
        # imported image by its id, which both engines report, as what was asked.
        ids = re.findall(r"sha256:[0-9a-f]{64}", str(out))
        if not ids:
            raise BuildError(f"docker import of {tag}: no image id in the engine's answer: {str(out)[-500:]}")
        client().api.tag(ids[-1], repo, version)


def _apt_install(rootfs: Path, pkgs: list[str], progress: Progress) -> None:
    """apt-get install `pkgs` inside the minbase rootfs (from the mirror debootstrap wrote into its sources), as the
    pull route does in Debian's slim image. Not debootstrap's --include: its resolver takes the first alternative of
    every dependency and installs a batch in one dpkg call, which fails where that alternative pre-depends on a
    package of the same batch (trixie's exim4-base: cron | cron-daemon -> cron-daemon-common -> systemd, whose
    pre-dependency libsystemd-shared is not yet configured). No service starts meanwhile (policy-rc.d)."""
    policy = rootfs / "usr" / "sbin" / "policy-rc.d"
    policy.write_text("#!/bin/sh\n# mailharness: no service starts while the image is built\nexit 101\n")
    policy.chmod(0o755)
    proc = rootfs / "proc"
    subprocess.run(["mount", "-t", "proc", "proc", str(proc)], check=True)
    try:
        apt = ["chroot", str(rootfs), "env", "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C", "apt-get", "-q"]
        _run_streaming([*apt, "update"], progress, prefix="  apt-get: ", every=10)
        _run_streaming([*apt, "install", "-y", "--no-install-recommends", *pkgs], progress, prefix="  apt-get: ",
                       every=40)
    finally:
        subprocess.run(["umount", str(proc)], check=False)
        policy.unlink()


def _run_streaming(cmd: list[str], progress: Progress, prefix: str, every: int) -> None:
    """Run cmd, showing every `every`-th output line as progress; on failure show the last lines."""
    tail: list[str] = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        assert proc.stdout is not None
        for i, line in enumerate(proc.stdout):
            tail = (tail + [line.rstrip()])[-15:]
            if i % every == 0:
                progress(prefix + line.rstrip())
        rc = proc.wait()
    if rc != 0:
        raise BuildError(f"{cmd[0]} failed (exit {rc}); last lines:\n" + "\n".join(tail))
