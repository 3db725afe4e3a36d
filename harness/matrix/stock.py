"""A stock configuration's folder, made from the image of the release it runs on (harness.mta.stock: its recipe's
steps, in order, in a one-off container of that image with no network, labelled and removed at once), so that a
column runs the package's own files as that release ships them.

    materialize(stock, "exim", "mailharness-exim-4.96:...", Path("reports/matrix/exim-4.96-....config"))

The folder is emptied first, and holds what the recipe made and nothing else; a step that fails (a file the image
does not have, a program that refuses) is a StockError with the container's own words.
"""

from __future__ import annotations

import base64
import io
import shlex
import shutil
import tarfile
from pathlib import Path

import docker.errors
import requests.exceptions

from ..engine import labels as lbl
from ..engine.docker import client
from ..errors import MailharnessError
from ..mta.recognise import recognise
from ..mta.stock import FOLDER, Command, ImageFile, Step, Stock, Text

_WORK = "/tmp/mailharness-stock"  # the folder in the container (a one-off container: no other user of the path)


class StockError(MailharnessError, RuntimeError):
    """A stock configuration's recipe could not make its folder from the image."""


def script(recipe: tuple[Step, ...], work_folder: str = _WORK) -> str:
    """The shell script that runs the recipe in the container, making `work_folder` (what the steps print goes to
    the standard error: the container's output is only read to say why it failed)."""
    work = shlex.quote(work_folder)
    lines = ["set -e", f"rm -rf {work}", f"mkdir -p {work}", f"cd {work}"]
    for step in recipe:
        if isinstance(step, ImageFile):
            lines.append(f"cat -- {shlex.quote(step.path)} >> {work}/{shlex.quote(_name(step.name))}")
        elif isinstance(step, Text):
            data = base64.b64encode(step.text.encode("utf-8")).decode("ascii")
            lines.append(f"printf %s {data} | base64 -d > {work}/{shlex.quote(_name(step.name))}")
        elif isinstance(step, Command):
            lines.append(" ".join(shlex.quote(a.replace(FOLDER, work_folder)) for a in step.argv) + " >&2")
        else:
            raise StockError(f"a recipe step of an unknown kind: {step!r} (expected ImageFile, Text or Command)")
    return "\n".join(lines)


def _name(name: str) -> str:
    if not name or "/" in name or name in (".", ".."):
        raise StockError(f"a recipe names the file {name!r}: expected a file name in the folder (no /)")
    return name


def materialize(stock: Stock, kind: str, image: str, folder: Path, timeout: float = 120.0) -> Path:
    """Make `folder` from `stock`'s recipe in a one-off container of `image` (a release of MTA `kind`): the script
    runs, then the folder it made is copied out of the stopped container (not read from its output, which Docker
    may hand over incomplete). StockError when a step fails, or when what it made is not a configuration of
    `kind`."""
    if not stock.recipe:
        raise StockError(f"{stock.name}: a bundled example ({stock.example}), not a recipe: nothing to make")
    text = script(stock.recipe)
    try:
        container = client().containers.create(image, entrypoint=["sh", "-c", text], network_mode="none",
                                                labels=lbl.labels(node="matrix-stock"))
    except docker.errors.ImageNotFound:
        raise StockError(f"{stock.name}: no image {image} to take its files from (build it: mailharness images "
                         "build)") from None
    try:
        container.start()
        status = int(container.wait(timeout=timeout).get("StatusCode", -1))
        if status != 0:
            err = container.logs(stdout=False, stderr=True).decode("utf-8", "replace").strip()
            raise StockError(f"{stock.name}: its recipe failed in {image} (exit {status}): "
                             f"{err[-1500:] or 'no message'}")
        stream, _ = container.get_archive(_WORK)
        archive = b"".join(stream)
    except (docker.errors.APIError, requests.exceptions.RequestException) as exc:
        raise StockError(f"{stock.name}: its recipe could not run in {image} within {timeout:.0f} s: "
                         f"{exc.__class__.__name__}: {exc}") from None
    finally:
        container.remove(force=True)
    return unpack(stock.name, kind, archive, folder)


def unpack(name: str, kind: str, archive: bytes, folder: Path) -> Path:
    """The folder the recipe of stock configuration `name` made (`archive`: a tar of it, under one top folder, as
    Docker copies a folder out of a container), in `folder` (emptied first); StockError when it is not a
    configuration of MTA `kind`."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)

    def inside(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo | None:
        _, _, rest = member.name.partition("/")
        return tarfile.data_filter(member.replace(name=rest, deep=False), dest) if rest else None

    try:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(folder, filter=inside)
    except tarfile.TarError as exc:
        raise StockError(f"{name}: no readable copy of the folder the recipe made ({exc}; {len(archive)} bytes)"
                         ) from None
    made = recognise(folder)
    if made != kind:
        found = ", ".join(sorted(p.name for p in folder.iterdir())) or "nothing"
        what = f"a configuration of {made}" if made else "no MTA's configuration"
        raise StockError(f"{name}: expected the recipe to make a configuration of {kind}; it made {found}: {what}")
    return folder
