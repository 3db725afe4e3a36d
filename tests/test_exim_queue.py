"""An Exim node's queue from `exim -bp` (real listings of 4.96 and 4.98) and the spool's locks."""

from __future__ import annotations

import os

import pytest

from harness.evidence import QueueEntry
from harness.mta.exim.node import queue_listing

MARK = "--mailharness-spool--\n"
LISTING_496 = """\
 0m   289 1xaQOA-00000T-33 <jack@store.example>
        D jill@library.example
          jill@store.example
          bob@store.example

 0m  1.6K 1xaQOB-00000c-12 <> *** frozen ***
          someone@outside.test

"""
LISTING_498 = """\
 0m   305 1xaQOF-0000000000U-0wNM <jack@store.example>
        D jill@library.example
          jill@store.example
          bob@store.example

 0m  1.6K 1xaQOF-0000000000d-1HgT <> *** frozen ***
          someone@outside.test

"""
LOCKS = "22: OFDLCK ADVISORY  READ -1 00:06:3 0 EOF\n"


def _dev(major: int, minor: int) -> int:
    return os.makedev(major, minor)


@pytest.mark.parametrize(("listing", "ids"), [
    (LISTING_496, ("1xaQOA-00000T-33", "1xaQOB-00000c-12")),
    (LISTING_498, ("1xaQOF-0000000000U-0wNM", "1xaQOF-0000000000d-1HgT")),
])
def test_a_listing_gives_the_undelivered_recipients_and_the_frozen_state(listing: str, ids: tuple[str, str]) -> None:
    files = f"{_dev(0, 62)} 2526871 {ids[0]}-D\n{_dev(0, 62)} 2523952 {ids[1]}-D\n"
    got = queue_listing(listing + MARK + files + MARK + LOCKS, "library")
    assert got == [
        QueueEntry("library", ids[0], "deferred", "jack@store.example", ("jill@store.example", "bob@store.example"),
                   ("", "")),
        QueueEntry("library", ids[1], "frozen", "", ("someone@outside.test",), ("",)),
    ]


def test_a_message_whose_data_file_is_locked_is_being_delivered() -> None:
    files = f"{_dev(0, 62)} 2526871 1xaQOA-00000T-33-D\n{_dev(0, 62)} 2523952 1xaQOB-00000c-12-D\n"
    locks = LOCKS + "1: POSIX  ADVISORY  WRITE 7 00:3e:2526871 0 EOF\n"
    states = [q.queue_name for q in queue_listing(LISTING_496 + MARK + files + MARK + locks, "library")]
    assert states == ["active", "frozen"]
    # the same inode on another device is another file
    other = LOCKS + "1: POSIX  ADVISORY  WRITE 7 00:3f:2526871 0 EOF\n"
    assert [q.queue_name for q in queue_listing(LISTING_496 + MARK + files + MARK + other)] == ["deferred", "frozen"]


def test_an_empty_queue_is_an_empty_list_and_an_error_is_not() -> None:
    assert queue_listing(MARK + MARK + LOCKS, "library") == []
    with pytest.raises(ValueError, match="exim -bp on library: exim: failed to open spool directory"):
        queue_listing("exim: failed to open spool directory\n" + MARK + MARK, "library")
