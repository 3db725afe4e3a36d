"""The options of `mailharness explore`, apart from the search: building the command line's parser costs every
`mailharness` command, and the search imports hypothesis (about 0.8 s) only when `explore` runs. The options that
choose and describe the configuration under test are `mailharness check`'s own (harness.sut.options)."""

from __future__ import annotations

import argparse

from ..sut.options import add_config_arguments

DEFAULT_DATABASE = ".mailharness/explore-db"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mta-config", default="", metavar="[NODE=]DIR",
                   help="explore YOUR Postfix configuration in DIR, in place of NODE (default: library)")
    add_config_arguments(p)  # --example, --mta-recipient, --mta-domain, --mta-table, --mta: as for check
    p.add_argument("--budget", type=float, default=60.0, metavar="SECONDS",
                   help="seconds of search (shrinking and confirming a finding may take up to half as long again)")
    p.add_argument("--seed", type=int, default=0, help="hypothesis's seed (worker i uses seed+i)")
    p.add_argument("--out", default="explore-tests", metavar="DIR",
                   help="where each violation's regression test is written (default: explore-tests)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="searches in parallel, each on its own topologies (default 1)")
    p.add_argument("--database", default=DEFAULT_DATABASE, metavar="DIR",
                   help=f"example database kept between runs; commit it to try found cases first "
                        f"(default {DEFAULT_DATABASE}; '' for none)")
    p.add_argument("--stop-after", type=int, default=0, metavar="N",
                   help="stop once N violations are confirmed (per worker; default 0: search the whole budget)")
    p.add_argument("--variants", default="", metavar="LIST",
                   help="topology variants, comma-separated: default, mock (example.edu a scripted mock); "
                        "with --mta-config or --example: config")


__all__ = ["DEFAULT_DATABASE", "add_arguments"]
