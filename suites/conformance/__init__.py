"""The conformance suite: the fault catalogue phrased as requirements on one server (`mta` fixture).

Run it against your own Postfix configuration with `mailharness check DIR` (or `pytest --mta-config DIR`).
"""
