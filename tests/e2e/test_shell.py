"""The shell kept open in a node (harness.nodes.shell): what `docker exec` gave, through an open socket."""

from __future__ import annotations

import docker.errors
import pytest

from harness import MailTopology
from harness.nodes.base import NodeError


def test_output_status_and_binary_data_come_back_as_docker_exec_gives_them(mail_topology: MailTopology) -> None:
    node = mail_topology.node("edu")
    assert node.exec(["sh", "-c", "echo out; echo err >&2"]) == b"out\nerr\n"
    assert node.exec(["sh", "-c", "exit 3"], check=False) == b""
    with pytest.raises(NodeError, match=r"exited 3: boom"):
        node.exec(["sh", "-c", "echo boom; exit 3"])
    blob = bytes(range(256)) * 300  # every byte value, more than one frame, and no newline at the end
    got = node.exec(["sh", "-c", "head -c 76800 /dev/zero | tr '\\0' '\\1'"])
    assert got == b"\x01" * 76800
    node.put_file("/tmp/blob", blob)
    assert node.exec(["cat", "/tmp/blob"]) == blob
    assert node.exec(["printf", "no newline at the end"]) == b"no newline at the end"


def test_a_command_cannot_read_the_next_one_and_quoting_is_kept(mail_topology: MailTopology) -> None:
    node = mail_topology.node("edu")
    assert node.exec(["cat"]) == b""  # stdin is /dev/null: it does not swallow what comes next
    assert node.exec(["echo", "a b", "$HOME", "'q'", "x;y"]) == b"a b $HOME 'q' x;y\n"
    assert node.exec(["sh", "-c", "cd /tmp && pwd"]) == b"/tmp\n"
    assert node.exec(["pwd"]) != b"/tmp\n", "each command runs in a subshell: no state carries over"


def test_the_shell_comes_back_after_the_container_was_stopped_and_started(mail_topology: MailTopology) -> None:
    node = mail_topology.node("edu")
    assert node.exec(["echo", "before"]) == b"before\n"
    node.halt()
    with pytest.raises(docker.errors.APIError, match=r"(?i)not running"):  # docker exec's own words
        node.exec(["echo", "while stopped"])
    node.resume()
    assert node.exec(["echo", "after"]) == b"after\n"
