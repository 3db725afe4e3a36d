"""mailharness matrix: the conformance requirements (what `mailharness check` runs) on each MTA and release with
its stock configuration, as one table (docs/conformance-matrix.md), and a check that a fresh run still gives it.

    columns.py   the configurations and the releases they run on (harness.mta.versions): one column each
    run.py       each column as a `mailharness check` of its own, several at a time, with progress per column
    collect.py   the pytest plugin those checks load: each requirement's verdict, reason and evidence, as data
    scrub.py     what would differ from one run to the next (addresses, queue ids, times, tokens), taken out
    results.py   the verdicts of every column as one matrix: rows, cells, the reasons grouped
    render.py    the matrix as Markdown, and the comparison with a committed file (a unified diff)
    command.py   the command line
"""
