"""`mailharness check --mta exim DIR`: an Exim configuration as users keep it, judged by the same requirements as a
Postfix one. The bundled examples get the verdicts ci/examples.sh says; Exim's own default configure and Debian's
internet-site configuration (both read from the image at run time: neither is copied into the repository) never
FAIL; a broken configuration is refused within seconds in Exim's own words."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.engine import images
from harness.matrix.stock import materialize
from harness.mta import versions

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# A correct Exim configuration: every inbound requirement passes but the quota one (the harness sets no quota in
# your appendfile), the outbound ones and the gateway's do not apply, and it offers no DSN (Exim's default).
CORRECT = "8 passed, 0 failed, 9 not applicable, 1 not judged"
BACKSCATTER = "6 passed, 2 failed, 9 not applicable, 1 not judged"


def check(directory: Path, tmp_path: Path, *more: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", "check", str(directory), "--html",
                           str(tmp_path / "report.html"), *more], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)


@pytest.mark.parametrize("release", ["4.98", "4.96"])
def test_a_single_configure_file_passes(tmp_path: Path, release: str) -> None:
    r = check(EXAMPLES / "exim-default", tmp_path, "--mta", f"exim@{release}")
    assert r.returncode == 0, r.stdout[-4000:]
    assert CORRECT in r.stdout, r.stdout[-4000:]
    assert "recipients known to Exim: jill@library.example" in r.stdout
    assert f"run by Exim {release}" in r.stdout and f"library: Exim {release}" in r.stdout, "store and edu: Postfix"
    assert "log_selector = the harness's (containers/exim/configure)" in r.stdout, "the overrides are said"
    assert "not changed: the ACLs and routers" in r.stdout


def test_debian_s_etc_exim4_is_made_by_update_exim4_conf_and_passes(tmp_path: Path) -> None:
    r = check(EXAMPLES / "exim-debian", tmp_path, "--mta", "exim")
    assert r.returncode == 0, r.stdout[-4000:]
    assert CORRECT in r.stdout, r.stdout[-4000:]
    assert "note: Debian's layout: the running configuration made by update-exim4.conf" in r.stdout
    assert "note: /etc/mailname: not in the folder; made with 'library.example'" in r.stdout


@pytest.mark.parametrize(("example", "statement"), [
    ("exim-default-backscatter", "`accept`"),
    ("exim-debian-backscatter", "`accept domains = +local_domains : +relay_to_domains`"),
])
def test_accepting_unknown_recipients_fails_the_backscatter_requirements(tmp_path: Path, example: str,
                                                                        statement: str) -> None:
    r = check(EXAMPLES / example, tmp_path, "--mta", "exim")
    assert r.returncode == 1, r.stdout[-4000:]
    out = r.stdout
    assert BACKSCATTER in out, out[-4000:]
    assert "FAIL" in out and "rejects_unknown_recipients_at_rcpt" in out and "no_backscatter_to_a_forged_sender" in out
    assert "library.example to <jill@example.edu>, delivered at edu" in out, "the bounce to the forged sender"
    assert f"(acl_smtp_rcpt) accepts the server's own domains at {statement} before any `verify = recipient`" in out
    assert "(in general: the RCPT ACL (acl_smtp_rcpt) must verify the recipient" in out


@pytest.fixture(scope="module")
def stock(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Exim's own default configure, as Debian ships it with Exim, and Debian's internet site (Debian's own
    template: the folder has only update-exim4.conf.conf and mailname), both made from the default Exim image by
    the recipes of the matrix's columns (harness.mta.exim.releases.STOCK)."""
    image = images.ensure(("exim",), versions={"exim": [""]})["exim"]
    root = tmp_path_factory.mktemp("stock")
    recipes = {s.name: s for s in versions.stock("exim")}
    return {"exim": materialize(recipes["exim-stock-default"], "exim", image, root / "exim"),
            "debian": materialize(recipes["exim-stock-debian"], "exim", image, root / "debian")}


def test_exim_s_own_default_configure_never_fails(tmp_path: Path, stock: dict[str, Path]) -> None:
    """local_domains = @ only: the host's own name is the mail domain, named with --mta-domain."""
    r = check(stock["exim"], tmp_path, "--mta", "exim", "--mta-domain", "library.example")
    assert r.returncode == 0, r.stdout[-4000:]
    assert CORRECT in r.stdout, r.stdout[-4000:]


def test_debian_s_internet_site_never_fails(tmp_path: Path, stock: dict[str, Path]) -> None:
    r = check(stock["debian"], tmp_path, "--mta", "exim")
    assert r.returncode == 0, r.stdout[-4000:]
    assert CORRECT in r.stdout, r.stdout[-4000:]
    assert "the package's own exim4.conf.template (Debian's)" in r.stdout


def test_a_broken_configuration_is_refused_at_once_in_exim_s_words(tmp_path: Path) -> None:
    cfg = tmp_path / "broken"
    cfg.mkdir()
    text = (EXAMPLES / "exim-default" / "configure").read_text()
    (cfg / "configure").write_text(text.replace("never_users = root", "never_users = root\nno_such_option = 1"))
    r = check(cfg, tmp_path, "--mta", "exim")
    assert r.returncode == 4, r.stdout[-2000:] + r.stderr[-2000:]
    assert "configuration refused by Exim (exim -bV)" in r.stderr, r.stderr
    assert 'main option "no_such_option" unknown' in r.stderr, r.stderr


def test_debian_s_satellite_is_judged_on_nothing_it_cannot_be_judged_on(tmp_path: Path) -> None:
    """A satellite (loopback only, everything to a smarthost, Debian's own template): the inbound requirements do
    not apply, the outbound ones are NOT JUDGED (no stand-in for an Exim smarthost yet), and nothing FAILs."""
    cfg = tmp_path / "satellite"
    cfg.mkdir()
    (cfg / "update-exim4.conf.conf").write_text(
        "dc_eximconfig_configtype='satellite'\ndc_other_hostnames=''\ndc_local_interfaces='127.0.0.1 ; ::1'\n"
        "dc_readhost='library.example'\ndc_relay_domains=''\ndc_minimaldns='false'\ndc_relay_nets=''\n"
        "dc_smarthost='smtp.provider.test::587'\nCFILEMODE='644'\ndc_use_split_config='false'\n"
        "dc_hide_mailname='true'\ndc_mailname_in_oh='true'\ndc_localdelivery='mail_spool'\n")
    (cfg / "mailname").write_text("library.example\n")
    r = check(cfg, tmp_path, "--mta", "exim")
    assert r.returncode == 0, r.stdout[-4000:]
    assert "0 passed, 0 failed, 12 not applicable, 6 not judged" in r.stdout, r.stdout[-4000:]
    assert "receives no mail from outside: no listener on the network (local_interfaces = <; 127.0.0.1 ; ::1)" \
        in r.stdout
    assert "not judged: router smarthost sends every other domain's mail to smtp.provider.test:587" in r.stdout
    assert "note: /etc/mailname: the folder's copy (mailname)" in r.stdout
