"""Wall time of `mailharness check` (the conformance suite against a configuration), cold and warm.

    python benchmarks/check.py [--cold]

warm: the images exist; each run still starts its own topology (a new process).
--cold: first removes the harness's images (and base), so the first run builds them (offline here).
Also prints each example's verdict counts, to show the difference the configuration makes.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

from harness.engine import images

ROOT = Path(__file__).resolve().parents[1]


def check(directory: str) -> tuple[float, str]:
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "harness.cli", "check", directory, "--mailharness-html",
                        "/tmp/mailharness-bench-report.html"], capture_output=True, text=True, cwd=ROOT)
    took = time.monotonic() - t0
    m = re.findall(r"^(\d+ passed(?:, \d+ failed)?)\s*$", r.stdout, flags=re.M)
    return took, (m[-1] if m else f"exit {r.returncode}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cold", action="store_true")
    a = ap.parse_args()
    if a.cold:
        images.remove(current=True)
        took, verdict = check("examples/postfix-good")
        print(f"check_cold_with_image_build_s: {took:.1f}  ({verdict})")
    for name in ("postfix-good", "postfix-backscatter"):
        runs = [check(f"examples/{name}") for _ in range(3)]
        print(f"check_warm_{name.replace('-', '_')}_median_s: {sorted(t for t, _ in runs)[1]:.1f}  ({runs[-1][1]})")


if __name__ == "__main__":
    main()
