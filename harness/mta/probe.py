"""Ask an MTA itself about a configuration: a one-shot container of its node image (no network) with the
configuration in place, where the MTA's own programs answer (Postfix's `postconf`, `postmap -q`; Exim's `exim -bP`,
`exim -bt`; `getent`).

    with Probe(directory, "postfix") as p:
        [values] = p.run([["postconf", "-xh", "mydestination"]])

Commands run in batches (one `docker exec` per batch, each command's exit status, stdout and stderr back), so
that resolving a configuration costs a container start and a few round trips, not one per lookup.
"""

from __future__ import annotations

import io
import json
import logging
import tarfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import docker.errors

from ..engine import images
from ..engine import labels as lbl
from ..engine.docker import client
from . import versions
from .facts import ProbeError as ProbeError

log = logging.getLogger("mailharness")

# Runs inside the container: each command of the JSON list in argv[1], its (status, stdout, stderr) as JSON.
_RUNNER = r"""
import json, subprocess, sys
out = []
for cmd in json.loads(sys.argv[1]):
    p = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    out.append([p.returncode, p.stdout, p.stderr])
json.dump(out, sys.stdout)
"""

USER_DIR = "/etc/mailharness-user/cfg"


@dataclass(frozen=True)
class Answer:
    status: int
    out: str
    err: str

    @property
    def ok(self) -> bool:
        return self.status == 0

    @property
    def lines(self) -> list[str]:
        return [line for line in self.out.splitlines() if line.strip()]


def tar_of(files: dict[str, bytes], mode: int = 0o644) -> bytes:
    """A tar archive with `files` (absolute paths in the container -> content)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path, content in files.items():
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.mode = len(content), mode
            tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def _dir_files(directory: Path, dest: str) -> dict[str, bytes]:
    return {f"{dest}/{p.relative_to(directory).as_posix()}": p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


class Probe:
    """The node image of MTA `kind` (release `version`, "" the default) with `directory` at
    /etc/mailharness-user/cfg, idle until asked; removed on exit. `hostname`: the container's host name ("" for
    Docker's)."""

    def __init__(self, directory: Path, kind: str = "postfix", *, version: str = "", image: str = "",
                 hostname: str = "") -> None:
        self.directory = directory
        self.kind = kind
        self.version = version
        self.image = image
        self.hostname = hostname
        self._container: Any = None

    def __enter__(self) -> Probe:
        key = f"{self.kind}@{self.version}" if self.version else self.kind
        image = self.image or images.ensure((self.kind,), versions={self.kind: [self.version]})[key]
        try:
            self._container = client().containers.create(
                image, entrypoint=["sleep", "300"], network_mode="none",
                labels=lbl.labels(topology=f"probe-{uuid.uuid4().hex[:8]}", node="probe"),
                hostname=self.hostname or None)
            self._container.put_archive("/", tar_of(_dir_files(self.directory, USER_DIR)))
            self._container.start()
        except docker.errors.APIError as exc:
            self.__exit__(None, None, None)
            raise ProbeError(f"could not start a {versions.label(self.kind, self.version)} container to read the "
                             f"configuration: {exc}") from exc
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        if self._container is not None:
            try:
                self._container.remove(force=True)
            except docker.errors.APIError as exc:  # already gone; a sweep gets anything left (it is labelled)
                log.debug("mailharness: probe container removal: %s", exc)
            self._container = None

    def put(self, files: dict[str, bytes], mode: int = 0o644) -> None:
        if files:
            self._container.put_archive("/", tar_of(files, mode))

    def run(self, commands: list[list[str]]) -> list[Answer]:
        if not commands:
            return []
        res = self._container.exec_run(["python3", "-c", _RUNNER, json.dumps(commands)], demux=True)
        out, err = res.output
        try:
            answers = json.loads((out or b"").decode("utf-8", "replace"))
        except json.JSONDecodeError as exc:
            raise ProbeError(f"the probe answered {out!r} {err!r}") from exc
        return [Answer(int(s), o, e) for s, o, e in answers]

    def sh(self, script: str) -> Answer:
        [a] = self.run([["sh", "-c", script]])
        return a
