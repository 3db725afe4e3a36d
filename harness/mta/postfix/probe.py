"""Ask Postfix itself about a configuration: the probe container of harness.mta.probe, with Postfix's image (the
default release): `postconf`, `postmap -q`, `postalias -q` and `getent` answer there.

    with Probe(directory) as p:
        [values] = p.run([["postconf", "-xh", "mydestination"]])
"""

from __future__ import annotations

from ..probe import USER_DIR as USER_DIR
from ..probe import Answer as Answer
from ..probe import Probe as Probe
from ..probe import ProbeError as ProbeError
from ..probe import tar_of as tar_of

__all__ = ["USER_DIR", "Answer", "Probe", "ProbeError", "tar_of"]
