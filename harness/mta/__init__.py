"""Everything that knows a mail server's software, one package per MTA (`harness.mta.postfix`).

The MTA-neutral core (world, ledger, verdict, report, conformance, the plugin) reads an MTA only through the
Protocols of `harness.mta.base`; `tests/test_mta_seam.py` keeps MTA programs and log formats out of the core.
"""
