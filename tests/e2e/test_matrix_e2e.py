"""`mailharness matrix` on real servers, one column (Postfix 3.7 with Debian's main.cf for an Internet Site, made
from the 3.7 image: its default is vulnerable to SMTP smuggling): the verdicts it writes, the evidence of its
FAIL, and a second run that gives the same text but for the line a hand changed, which --check shows as the
difference. And the recipes of the stock configurations, run on each release's image."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.engine import images
from harness.matrix.stock import StockError, materialize
from harness.mta import versions
from harness.mta.recognise import recognise
from harness.mta.stock import Command, ImageFile, Stock, Text

COLUMN = "Postfix 3.7, Debian's Internet Site"


def matrix(tmp_path: Path, *more: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", "matrix", "--mta", "postfix@3.7", "--reports",
                           str(tmp_path / "reports"), *more], capture_output=True, text=True, timeout=600,
                          cwd=tmp_path)


def test_one_column_of_the_matrix_and_its_check(tmp_path: Path) -> None:
    out = tmp_path / "matrix.md"
    r = matrix(tmp_path, "--output", str(out))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert f"matrix: [1/1] {COLUMN}: 7 PASS, 1 FAIL, 8 N/A, 2 NOT JUDGED" in r.stdout, r.stdout
    folder = tmp_path / "reports" / "postfix-3.7-postfix-stock-debian.config"
    assert f"matrix: {COLUMN}: mailharness check {folder} --mta postfix@3.7" in r.stdout, r.stdout
    assert "smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated defer_unauth_destination" in \
        (folder / "main.cf").read_text(), "main.cf.debian with what the postinst sets"
    text = out.read_text()
    assert f"| requirement | RFC | {COLUMN} |" in text
    assert f"- {COLUMN}: `mailharness check DIR --mta postfix@3.7`; Postfix 3.7 as Debian bookworm ships it" in text
    assert "| `rejects_unknown_recipients_at_rcpt` | RFC 5321 s6.2; DSN checklist ENV-8 | PASS |" in text
    assert re.search(r"^\| `not_vulnerable_to_smtp_smuggling` \| RFC 5321 s2\.3\.8 .* \| FAIL F1 \|$", text, re.M)
    assert re.search(r"^\| `no_backscatter_through_relaying_to_a_backend` \| .* \| N/A n\d \|$", text, re.M)
    assert text.index("| `rejects_unknown_recipients_at_rcpt` |") < text.index("| `outbound_"), "inbound first"
    failure = text[text.index("### F1"):]
    assert f"### F1: `not_vulnerable_to_smtp_smuggling` on {COLUMN}" in failure
    assert "library (Postfix 3.7), probed from 10.X.Y.1: VULNERABLE to SMTP smuggling" in failure
    assert "S: 250 2.0.0 Ok: queued as <queue id>   <- before the probe's end of data" in failure
    assert "the nodes ran store, library, edu: Postfix 3.7" in text
    assert "the configuration relays no domain to a backend (no relay\\_domains)" in text
    # nothing of this run or this machine: no address of the topology, no queue id, no temporary path
    assert not re.search(r"\b10\.\d+\.\d+\.\d+\b", text), re.findall(r"\b10\.\d+\.\d+\.\d+\b", text)
    assert str(tmp_path) not in text and "/tmp/" not in text
    assert not re.search(r"queued as [0-9A-F]{8,}", text)
    assert (tmp_path / "reports" / "postfix-3.7-postfix-stock-debian.html").is_file()

    out.write_text(text.replace("FAIL F1", "PASS"))
    again = matrix(tmp_path, "--check", str(out))
    assert again.returncode == 1, again.stdout[-3000:] + again.stderr[-3000:]
    diff = again.stdout[again.stdout.index("--- "):]
    changed = [ln for ln in diff.splitlines() if ln.startswith(("-", "+")) and not ln.startswith(("---", "+++"))]
    assert len(changed) == 2, diff  # a fresh run gives the same text but for the line changed by hand
    assert changed[0].startswith("-| `not_vulnerable_to_smtp_smuggling`") and changed[0].endswith("| PASS |")
    assert changed[1].startswith("+| `not_vulnerable_to_smtp_smuggling`") and changed[1].endswith("| FAIL F1 |")


def image_file(image: str, path: str) -> bytes:
    return subprocess.run(["docker", "run", "--rm", "--network", "none", "--entrypoint", "cat", image, path],
                          capture_output=True, check=True).stdout


@pytest.mark.parametrize("kind", versions.KINDS)
def test_each_recipe_makes_its_folder_from_each_release_s_own_image(tmp_path: Path, kind: str) -> None:
    """Every file a recipe takes from the image is the release's own, byte for byte (Exim's example.conf is not
    the same in 4.96 and 4.98), and what it makes is a configuration of its MTA."""
    tags = images.ensure((kind,), versions={kind: list(versions.releases(kind))})
    made: dict[tuple[str, str], Path] = {}
    for version in versions.releases(kind):
        image = tags[images.key(kind, version)]
        for stock in versions.stock(kind):
            if not stock.recipe:
                continue
            folder = materialize(stock, kind, image, tmp_path / f"{stock.name}-{version}")
            assert recognise(folder) == kind
            made[(stock.name, version)] = folder
            names = [s.name for s in stock.recipe if isinstance(s, (ImageFile, Text))]
            for step in stock.recipe:  # a file made of one image file alone, and nothing run on the folder
                if isinstance(step, ImageFile) and names.count(step.name) == 1 and \
                        not any(isinstance(s, Command) for s in stock.recipe):
                    assert (folder / step.name).read_bytes() == image_file(image, step.path), step
    assert made, f"{kind}: no recipe among its stock configurations"
    if kind == "exim":
        old, new = (made[("exim-stock-default", v)] / "configure" for v in versions.releases(kind))
        assert old.read_bytes() != new.read_bytes(), "each release's own example.conf"


def test_a_recipe_that_names_a_file_the_image_lacks_fails_in_the_image_s_words(tmp_path: Path) -> None:
    image = images.ensure(("exim",), versions={"exim": [""]})["exim"]
    broken = Stock("broken", "broken", "a file no image has", recipe=(ImageFile("/no/such/example.conf",
                                                                                "configure"),))
    with pytest.raises(StockError, match=r"broken: its recipe failed in mailharness-exim.* \(exit 1\): "
                                         r"cat: /no/such/example.conf: No such file or directory"):
        materialize(broken, "exim", image, tmp_path / "broken")
