"""Collect what Exim answers about real configurations in the probe (harness.mta.exim.configfacts: the commands it
runs, and each answer: `user-config.py render`, `exim -bP`, `exim -bP +LIST`, `exim -be`, `exim -bt`...) into
tests/mta/exim_config_samples.json, the test data of tests/test_exim_userconfig.py, which replays them without
Docker. Not a test: run it by hand when the questions the probe asks change (the replay says which one it lacks).

    python tests/mta/exim_config_samples.py tests/mta/exim_config_samples.json [4.96 4.98]

The configurations: the bundled exim-default, exim-debian and exim-debian-backscatter, and "exim-aliases":
exim-default reading an aliases file of its own folder that fans out, pipes and fails addresses. (Exim's and
Debian's own configurations are not sampled: the samples would be copies of them. tests/e2e/test_check_exim.py checks
them from the image.)
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from harness.mta.exim import configfacts
from harness.mta.probe import Answer, Probe

ROOT = Path(__file__).resolve().parents[2]
ALIASES = "info: jill, jack@store.example\nsales: info\npipe: |/bin/cat\ngone: :fail: moved away\n"


class Recording(Probe):
    """A probe that keeps every command it ran and its answer."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.log: list[list[Any]] = []

    def run(self, commands: list[list[str]]) -> list[Answer]:
        answers = super().run(commands)
        self.log += [[c, a.status, a.out, a.err] for c, a in zip(commands, answers, strict=True)]
        return answers


def configurations(tmp: Path) -> dict[str, Path]:
    out = {name: ROOT / "examples" / name for name in ("exim-default", "exim-debian", "exim-debian-backscatter")}
    aliases = tmp / "exim-aliases"
    shutil.copytree(ROOT / "examples" / "exim-default", aliases)
    (aliases / "aliases").write_text(ALIASES)
    conf = aliases / "configure"
    conf.write_text(conf.read_text().replace("lsearch{/etc/aliases}", "lsearch{/etc/exim4/aliases}"))
    out["exim-aliases"] = aliases
    return out


def main(argv: list[str]) -> int:
    out, versions = Path(argv[0]), argv[1:] or ["4.96", "4.98"]
    samples: dict[str, dict[str, Any]] = {}
    for v in versions:
        with tempfile.TemporaryDirectory() as tmp:
            for name, d in configurations(Path(tmp)).items():
                domains: list[str] = []
                probe = Recording(d, "exim", version=v, hostname=configfacts.PROBE_HOST)
                with probe:
                    info = configfacts._resolve(d, probe, "", domains)
                samples.setdefault(v, {})[name] = {"domains": domains, "answers": probe.log,
                                                   "recipients": list(info.recipients), "unknown": info.unknown}
                print(f"{v} {name}: {len(probe.log)} answers; recipients {info.recipients[:3]}")
    out.write_text(json.dumps(samples, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
