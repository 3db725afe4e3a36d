"""The harness's images: postfix, dns, mock-smtp, each tagged by a hash of its inputs.

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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import docker.errors

from .. import bundled
from . import base
from .base import BuildError, Progress
from .docker import client, is_local

log = logging.getLogger("mailharness")

IMAGE_NAMES = ("postfix", "dns", "mock-smtp")


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


def base_tag() -> str:
    d = containers_dir() / "base"
    h = hashlib.sha256()
    for path, content in _folder_files(d):
        h.update(path.encode() + b"\0" + content)
    return f"mailharness-base:{h.hexdigest()[:12]}"


def tag(name: str) -> str:
    return f"mailharness-{name}:{spec(name).digest(base_tag())}"


def exists(image: str) -> bool:
    try:
        client().images.get(image)
        return True
    except docker.errors.ImageNotFound:
        return False


def missing() -> list[str]:
    return [tag(n) for n in IMAGE_NAMES if not exists(tag(n))]


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
    names: tuple[str, ...] = IMAGE_NAMES, *, progress: Progress = _stderr_progress, force: bool = False, route: str = ""
) -> dict[str, str]:
    """Make sure the images exist (building what is missing); returns {name: tag}."""
    route = route or os.environ.get("MAILHARNESS_BASE_ROUTE", "auto")
    tags = {n: tag(n) for n in names}
    if not force and all(exists(t) for t in tags.values()):
        return tags
    with _build_lock():  # another worker may have built them meanwhile: look again under the lock
        btag = base_tag()
        if force or not exists(btag):
            _build_base(btag, route, progress)
        for n, t in tags.items():
            if force or not exists(t):
                _build_image(spec(n), t, btag, progress)
    return tags


def _build_base(btag: str, route: str, progress: Progress) -> None:
    t0 = time.monotonic()
    d = containers_dir()
    pkgs = base.packages(d / "base")
    routes, why = base.plan(route, local=is_local(), root=os.geteuid() == 0,
                            debootstrap=shutil.which("debootstrap") is not None)
    progress(f"base image {btag}: {why}")
    if routes == ("pull",) or (routes[0] == "pull" and base.slim_available(progress)):
        progress(f"building {btag} from {base.SLIM} (apt-get install {' '.join(pkgs)})")
        files = [("Dockerfile", (d / "base" / "Dockerfile.pull").read_bytes())]
        try:
            _docker_build(files, btag, {"PACKAGES": " ".join(pkgs)}, progress)
        except BuildError as exc:
            raise BuildError(f"{exc}\nbase image route: {why}") from None
    else:
        base.build_offline(btag, pkgs, progress)
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
    want = {tag(n) for n in IMAGE_NAMES} | {base_tag()}
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
