"""SMTP smuggling (CVE-2023-51764 for Postfix, -51765 for Sendmail, -51766 for Exim): the published variants
(`variants`), the probe that sends them to a node of a topology and looks for what they smuggled (`probe`), and its
report. See docs/smuggling.md.

    report = probe_smuggling(world, "library", recipient="jill@library.example", sender="jack@store.example")
    print(report.render())
"""

from .probe import Found, SmugglingReport, VariantResult, probe_smuggling
from .session import Line
from .variants import VARIANTS, Variant, variant

__all__ = ["VARIANTS", "Found", "Line", "SmugglingReport", "Variant", "VariantResult", "probe_smuggling", "variant"]
