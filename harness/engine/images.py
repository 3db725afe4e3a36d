"""The harness's images: one per release of each MTA (harness.mta.KINDS: postfix, exim), dns, mock-smtp, each
tagged by a hash of its inputs.

Each MTA release (harness.mta.<kind>.releases) is built from containers/<kind>/ on a base image of the Debian
release that ships it: mailharness-postfix-3.7 on mailharness-base-bookworm, mailharness-postfix-3.10 on
mailharness-base-trixie; mailharness-exim-4.96 on mailharness-base-exim-bookworm, mailharness-exim-4.98 on
mailharness-base-exim-trixie (Debian installs one mail-transport-agent at a time, so Exim's base is its own, from
containers/exim/packages.txt: `Release.base`). dns and mock-smtp are built once, on Debian 12's base
(HELPER_SUITE). The world asks for a node's image with `mta_tag(kind, version)`.

An image whose tag exists is never rebuilt, so an unchanged tree costs one `images.get` per image. Builds
hold a file lock, so several pytest-xdist workers starting at once build each image once.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import logging
import os
import shutil
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import docker.errors

from .. import bundled
from ..mta import versions as mta
from ..mta.versions import KINDS as MTA_KINDS
from . import base
from .base import BuildError, Progress
from .docker import client, is_local

log = logging.getLogger("mailharness")

# An image per release of each MTA, then the helpers.
IMAGE_NAMES = (*MTA_KINDS, "dns", "mock-smtp")
# The folder of containers/ whose files make the base image every helper image and Postfix's are built on.
SHARED_BASE = "base"


def containers_dir() -> Path:
    """The image definitions: MAILHARNESS_CONTAINERS when set (to try changed definitions), else the ones the
    package carries (or the repository's containers/ in a source checkout)."""
    env = os.environ.get("MAILHARNESS_CONTAINERS")
    if not env:
        try:
            return bundled.folder("containers")
        except bundled.NotBundled as exc:
            raise BuildError(f"image definitions: {exc}") from exc
    d = Path(env)
    if not (d / "base" / "packages.txt").is_file():
        raise BuildError(f"image definitions not found in {d} (MAILHARNESS_CONTAINERS): no base/packages.txt")
    return d


def _harness_dir() -> Path:
    return Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class ImageSpec:
    name: str
    files: tuple[tuple[str, bytes], ...]  # (path in the build context, content)

    def digest(self, base_tag: str) -> str:
        h = hashlib.sha256(base_tag.encode())
        for path, content in self.files:
            h.update(path.encode() + b"\0" + hashlib.sha256(content).digest())
        return h.hexdigest()[:12]


def _folder_files(folder: Path, prefix: str = "") -> list[tuple[str, bytes]]:
    out = []
    for p in sorted(folder.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            out.append((prefix + p.relative_to(folder).as_posix(), p.read_bytes()))
    return out


def spec(name: str) -> ImageSpec:
    files = _folder_files(containers_dir() / name)
    if name == "mock-smtp":
        # Only the mock's own module goes in: harness/__init__.py there is empty on purpose.
        files.append(("harness/__init__.py", b""))
        files += _folder_files(_harness_dir() / "mock", prefix="harness/mock/")
    return ImageSpec(name, tuple(files))


# The base of the images that run no MTA (dns, mock-smtp): Debian 12, whose Python (3.11) is the project's own. The
# mock's image also stands in for a CI job container in the tests (tests/e2e/engines.py), with the host's packages
# mounted into it: an interpreter of another minor version (trixie's 3.13) cannot run them.
HELPER_SUITE = "bookworm"


def base_tag(suite: str = "", base: str = SHARED_BASE) -> str:
    """The base image of a Debian suite ("" = the default Postfix release's) from the packages.txt in containers/
    `base`: mailharness-base-trixie:<hash of the suite and containers/base> for the shared base;
    mailharness-base-exim-trixie:<hash of the suite, containers/exim/packages.txt and the pull route's Dockerfile>
    for an MTA's own (Release.base)."""
    suite = suite or mta.release("postfix").debian
    d = containers_dir()
    h = hashlib.sha256(suite.encode() + b"\0")
    if base == SHARED_BASE:
        files = _folder_files(d / "base")
        name = f"mailharness-base-{suite}"
    else:
        files = [(f"{base}/packages.txt", _packages_file(base).read_bytes()),
                 ("base/Dockerfile.pull", (d / "base" / "Dockerfile.pull").read_bytes())]
        name = f"mailharness-base-{base}-{suite}"
    for path, content in files:
        h.update(path.encode() + b"\0" + content)
    return f"{name}:{h.hexdigest()[:12]}"


def _packages_file(base: str) -> Path:
    p = containers_dir() / base / "packages.txt"
    if not p.is_file():
        raise BuildError(f"image definitions: no {base}/packages.txt in {containers_dir()} (the packages of the base "
                         f"image {base!r})")
    return p


def tag(name: str, version: str = "") -> str:
    """An image's tag; for an MTA kind ("postfix", "exim"), the image of that release ("" = the default release)."""
    if name in MTA_KINDS:
        return mta_tag(name, version)
    return f"mailharness-{name}:{spec(name).digest(base_tag(HELPER_SUITE))}"


def mta_tag(kind: str, version: str = "") -> str:
    """The image of a release of MTA `kind` ("3.10"; "" = the default): mailharness-<kind>-<version>:<hash>, built
    from containers/<kind> on the base of the Debian release that ships it. A ValueError names the known releases."""
    r = mta.release(kind, version)
    return f"mailharness-{kind}-{r.version}:{spec(kind).digest(base_tag(r.debian, r.base))}"


def postfix_tag(version: str = "") -> str:
    """The image of a Postfix release ("3.10"; "" = the default): mailharness-postfix-3.10:<hash>."""
    return mta_tag("postfix", version)


def key(name: str, version: str = "") -> str:
    """The key of an image in what `ensure` returns: "postfix@3.10"; "postfix" is the default release's (the same
    for every MTA kind: "exim@4.96", "exim")."""
    return f"{name}@{mta.release(name, version).version}" if name in MTA_KINDS and version else name


Versions = Iterable[str] | Mapping[str, Iterable[str]] | None


def _versions_of(kind: str, versions: Versions) -> list[str]:
    """The releases of `kind` asked for: every one (None); the kind's entry of a mapping kind -> versions (none
    when it has no entry); a plain list of versions names Postfix's (as callers always did)."""
    if versions is None:
        return list(mta.releases(kind))
    if isinstance(versions, Mapping):
        vs = list(versions.get(kind, ()))
    else:
        vs = list(versions) if kind == "postfix" else []
    return list(dict.fromkeys(mta.release(kind, v).version for v in vs))


def _base_folder(name: str) -> str:
    """The folder of containers/ whose packages.txt makes the base of image `name` (Release.base for an MTA)."""
    return mta.release(name).base if name in MTA_KINDS else SHARED_BASE


def _wanted(names: Iterable[str], versions: Versions) -> list[tuple[str, str, str, str]]:
    """(key, image name, tag, base suite) of each image asked for: the image of every release of an MTA kind in
    `names` that `versions` asks for (see _versions_of), the others on HELPER_SUITE's shared base."""
    out: list[tuple[str, str, str, str]] = []
    for n in names:
        if n not in MTA_KINDS:
            out.append((n, n, tag(n), HELPER_SUITE))
            continue
        default = mta.default_version(n)
        vs = _versions_of(n, versions)
        for v in vs:
            out.append((key(n, v), n, mta_tag(n, v), mta.release(n, v).debian))
        if default in vs:  # "postfix" (or "exim") stays the default release's image, as it always was
            out.append((n, n, mta_tag(n, default), mta.release(n, default).debian))
    return out


def exists(image: str) -> bool:
    try:
        client().images.get(image)
        return True
    except docker.errors.ImageNotFound:
        return False


def missing() -> list[str]:
    return list(dict.fromkeys(t for _, _, t, _ in _wanted(IMAGE_NAMES, None) if not exists(t)))


def _stderr_progress(msg: str) -> None:
    print(f"mailharness: {msg}", file=sys.stderr, flush=True)


@contextmanager
def _build_lock() -> Iterator[None]:
    path = Path(tempfile.gettempdir()) / f"mailharness-build-{os.getuid()}.lock"
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure(
    names: tuple[str, ...] = IMAGE_NAMES, *, versions: Versions = None,
    progress: Progress = _stderr_progress, force: bool = False, route: str = ""
) -> dict[str, str]:
    """Make sure the images exist (building what is missing, each base first); returns {key: tag}: "dns",
    "mock-smtp", "<kind>@<version>" for each release of each MTA kind in `names` that `versions` asks for (None:
    every release of every kind; a mapping kind -> versions; a plain list: Postfix's; "" is the default), and
    "<kind>" for the default release's when it is among them."""
    route = route or os.environ.get("MAILHARNESS_BASE_ROUTE", "auto")
    wanted = _wanted(names, versions)
    tags = {k: t for k, _, t, _ in wanted}
    if not force and all(exists(t) for t in tags.values()):
        return tags
    with _build_lock():  # another worker may have built them meanwhile: look again under the lock
        built: set[str] = set()
        for suite, b in dict.fromkeys((s, _base_folder(n)) for _, n, _, s in wanted):
            btag = base_tag(suite, b)
            if force or not exists(btag):
                _build_base(btag, suite, route, progress, b)
        for _, n, t, suite in wanted:
            if t not in built and (force or not exists(t)):
                _build_image(spec(n), t, base_tag(suite, _base_folder(n)), progress)
                built.add(t)
    return tags


def _build_base(btag: str, suite: str, route: str, progress: Progress, folder: str = SHARED_BASE) -> None:
    t0 = time.monotonic()
    d = containers_dir()
    pkgs = base.packages(_packages_file(folder).parent)
    routes, why = base.plan(route, local=is_local(), root=os.geteuid() == 0,
                            debootstrap=shutil.which("debootstrap") is not None, suite=suite)
    progress(f"base image {btag}: {why}")
    if routes == ("pull",) or (routes[0] == "pull" and base.slim_available(progress, suite)):
        progress(f"building {btag} from {base.slim(suite)} (apt-get install {' '.join(pkgs)})")
        files = [("Dockerfile", (d / "base" / "Dockerfile.pull").read_bytes())]
        try:
            _docker_build(files, btag, {"PACKAGES": " ".join(pkgs), "SUITE": suite}, progress)
        except BuildError as exc:
            raise BuildError(f"{exc}\nbase image route: {why}") from None
    else:
        base.build_offline(btag, pkgs, progress, suite)
    progress(f"base image {btag} ready in {time.monotonic() - t0:.1f}s")


def _build_image(s: ImageSpec, itag: str, btag: str, progress: Progress) -> None:
    t0 = time.monotonic()
    progress(f"building {itag} ...")
    _docker_build(list(s.files), itag, {"BASE": btag}, progress)
    progress(f"{itag} ready in {time.monotonic() - t0:.1f}s")


def _docker_build(files: list[tuple[str, bytes]], itag: str, args: dict[str, str], progress: Progress) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path, content in files:
            info = tarfile.TarInfo(path)
            info.size = len(content)
            info.mode = 0o755 if path.endswith(".sh") else 0o644
            tar.addfile(info, io.BytesIO(content))
    buf.seek(0)
    last: list[str] = []
    for chunk in client().api.build(
        fileobj=buf, custom_context=True, tag=itag, buildargs=args, pull=False, rm=True, forcerm=True,
        decode=True, labels={"io.mailharness.image": itag},
    ):
        if "error" in chunk:
            raise BuildError(f"docker build of {itag} failed: {chunk['error'].strip()}\n" + "\n".join(last[-10:]))
        line = str(chunk.get("stream", "")).rstrip()
        if line:
            last.append(line)
            if line.startswith("Step "):
                progress("  " + line)


def remove(current: bool = True, stale: bool = False) -> list[str]:
    """Remove the harness's images: the current tags (and base) with `current`, older tags with `stale` (what
    earlier inputs left behind). Returns the tags removed."""
    wanted = _wanted(IMAGE_NAMES, None)
    want = {t for _, _, t, _ in wanted} | {base_tag(s, _base_folder(n)) for _, n, _, s in wanted}
    removed = []
    for img in client().images.list():
        for t in img.tags:
            if not t.startswith("mailharness-"):
                continue
            if (t in want and current) or (t not in want and stale):
                try:
                    client().images.remove(t, force=True)
                    removed.append(t)
                except docker.errors.APIError as exc:  # in use by a running container: leave it
                    log.debug("keep image %s: %s", t, exc)
    return removed
