"""One frozen settings object: command line > ini file > environment > defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Literal

Keep = Literal["never", "on-failure", "always"]
KEEP_CHOICES: tuple[Keep, ...] = ("never", "on-failure", "always")


@dataclass(frozen=True)
class Settings:
    keep: Keep = "never"
    ready_timeout: float = 30.0
    summary: bool = False
    access: str = "auto"  # how the test process reaches the nodes: auto, direct or gateway (harness.access)

    @classmethod
    def from_pytest(cls, config: Any) -> Settings:
        def pick(opt: str, ini: str, env: str, default: str) -> str:
            v = config.getoption(opt, None)
            if v not in (None, ""):
                return str(v)
            v = config.getini(ini)
            if v not in (None, ""):
                return str(v)
            return os.environ.get(env, default)

        keep: Any = pick("mailharness_keep", "mailharness_keep", "MAILHARNESS_KEEP", "never")
        if keep not in KEEP_CHOICES:
            raise ValueError(f"mailharness keep={keep!r}: expected one of {', '.join(KEEP_CHOICES)}")
        ready = float(pick("mailharness_ready_timeout", "mailharness_ready_timeout", "MAILHARNESS_READY_TIMEOUT",
                           "30"))
        from .access import mode_from

        access = mode_from(pick("mailharness_access", "mailharness_access", "MAILHARNESS_ACCESS", "auto"))
        return cls(keep=keep, ready_timeout=ready, summary=bool(config.getoption("mailharness_summary", False)),
                   access=access)
