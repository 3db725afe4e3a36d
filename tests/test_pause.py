"""harness.nodes.base.pause: a container the runtime cannot freeze at once is asked again, other refusals are not."""

from __future__ import annotations

import docker.errors
import pytest

from harness.nodes.base import NodeError, pause

FREEZE = ("Cannot pause container 11f4: OCI runtime pause failed: unable to freeze: unknown")


class Container:
    def __init__(self, failures: list[str]) -> None:
        self.failures = failures
        self.calls = 0

    def pause(self) -> None:
        self.calls += 1
        if self.failures:
            raise docker.errors.APIError("500 Server Error", explanation=self.failures.pop(0))


def test_a_freeze_the_runtime_gave_up_on_is_asked_again() -> None:
    c = Container([FREEZE, FREEZE])
    pause(c, "library")
    assert c.calls == 3


def test_another_refusal_is_raised_at_once() -> None:
    c = Container(["Container 11f4 is not running"])
    with pytest.raises(docker.errors.APIError, match="not running"):
        pause(c, "library")
    assert c.calls == 1


def test_a_freeze_that_never_succeeds_says_what_the_engine_answered() -> None:
    c = Container([FREEZE] * 1000)
    with pytest.raises(NodeError, match=r"library: the engine could not pause the container in \d+ tries .*"
                                        r"unable to freeze"):
        pause(c, "library", timeout=0.2)
    assert c.calls >= 2
