"""--mailharness-shard=K/N: the shards of one matrix are disjoint, together run every selected test once, are
balanced, and do not depend on the order the files were given in, nor on pytest-xdist."""

from __future__ import annotations

import re

import pytest

from harness.plugin.shard import Shard

TESTS = {
    "test_a": "import pytest\n\n@pytest.mark.parametrize('n', range(7))\ndef test_param(n):\n    pass\n",
    "test_b": "\n".join(f"def test_b{i}():\n    pass\n" for i in range(5)),
    "test_c": "def test_slow_c():\n    pass\n\ndef test_fast_c():\n    pass\n",
}
ALL = 14


def passed(pytester: pytest.Pytester, *args: str) -> set[str]:
    reprec = pytester.inline_run("-p", "no:cacheprovider", *args)
    ok, skipped, failed = reprec.listoutcomes()
    assert not failed and not skipped
    return {r.nodeid for r in ok}


@pytest.fixture
def files(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(**TESTS)
    return pytester


@pytest.mark.parametrize("total", [2, 3, 5])
def test_shards_are_disjoint_and_cover_every_test(files: pytest.Pytester, total: int) -> None:
    everything = passed(files)
    assert len(everything) == ALL
    shards = [passed(files, f"--mailharness-shard={k}/{total}") for k in range(1, total + 1)]
    assert set().union(*shards) == everything
    assert sum(len(s) for s in shards) == ALL, "a test ran in two shards"
    assert max(map(len, shards)) - min(map(len, shards)) <= 1, [len(s) for s in shards]


def test_a_shard_does_not_depend_on_the_order_of_the_arguments(files: pytest.Pytester) -> None:
    forward = passed(files, "test_a.py", "test_b.py", "test_c.py", "--mailharness-shard=2/3")
    backward = passed(files, "test_c.py", "test_b.py", "test_a.py", "--mailharness-shard=2/3")
    assert forward == backward and forward


def test_shards_split_what_k_selects(files: pytest.Pytester) -> None:
    selected = passed(files, "-k", "param or fast")
    assert len(selected) == 8
    shards = [passed(files, "-k", "param or fast", f"--mailharness-shard={k}/2") for k in (1, 2)]
    assert shards[0] | shards[1] == selected and not shards[0] & shards[1]
    assert [len(s) for s in shards] == [4, 4], "the split is of the 8 selected, not of the 14 collected"


def test_the_ini_file_and_the_environment_set_it_too(files: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    by_option = passed(files, "--mailharness-shard=1/2")
    ini = files.makeini("[pytest]\nmailharness_shard = 1/2\n")
    assert passed(files) == by_option
    ini.unlink()
    monkeypatch.setenv("MAILHARNESS_SHARD", "1/2")
    assert passed(files) == by_option
    assert passed(files, "--mailharness-shard=2/2").isdisjoint(by_option), "the command line wins"


def test_the_same_shard_under_xdist(files: pytest.Pytester) -> None:
    alone = passed(files, "--mailharness-shard=2/3")
    result = files.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "-v", "--mailharness-shard=2/3")
    ran = set(re.findall(r"PASSED (\S+)", result.stdout.str()))
    assert ran == alone, result.stdout.str()[-2000:]
    result.stdout.fnmatch_lines(["*mailharness shard: 2/3*"])


@pytest.mark.parametrize("bad", ["3", "0/2", "3/2", "a/b", "1/0"])
def test_a_malformed_shard_stops_the_run(files: pytest.Pytester, bad: str) -> None:
    result = files.runpytest("-p", "no:cacheprovider", f"--mailharness-shard={bad}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*mailharness shard '{bad}': *"])


def test_the_split_itself() -> None:
    ids = [f"t::{c}" for c in "fedcba"]
    assert Shard.parse("1/2").split(ids) == {"t::a", "t::c", "t::e"}
    assert Shard.parse(" 2/2 ").split(ids + ids) == {"t::b", "t::d", "t::f"}  # duplicates count once
    assert Shard.parse("1/1").split(ids) == set(ids)
    assert str(Shard(3, 4)) == "3/4"
