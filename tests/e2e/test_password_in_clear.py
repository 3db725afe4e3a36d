"""The SASL scenarios of suites/test_tls.py can fail: a client whose policy lets it send in clear (`may`) and that
logs in gives its password away to a relayhost that offers AUTH in clear, while a man in the middle strips STARTTLS;
the scenario's check (never_in_clear, on the relayhost's transcript) says so. On Postfix and on Exim, as the sending
node; the same setup with `encrypt` is the scenario that passes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness import MailTopology, NodeSpec, SaslLogin, StripStartTLS, TlsPolicy, TopologySpec
from harness.mock import Script
from suites.test_tls import never_in_clear

LOGIN = ("satellite@library.example", "Tr0ub4dor-3")


@pytest.fixture(scope="module", params=["postfix", "exim"])
def world(request: pytest.FixtureRequest) -> Iterator[MailTopology]:
    spec = TopologySpec(name="careless", nodes=(
        NodeSpec("library", "library.example", users=("jill",), kind=request.param),
        NodeSpec("edu", "example.edu", kind="mock"),
    ))
    with MailTopology(spec) as w:
        yield w


def test_a_may_client_sends_its_password_in_clear_and_the_scenario_says_so(world: MailTopology) -> None:
    world.reset()
    edu = world.mock("edu")
    edu.script = Script().advertise("STARTTLS").login(*LOGIN).offer_auth_in_clear()
    world.apply(TlsPolicy("library", "may"), SaslLogin("library", *LOGIN), StripStartTLS("edu"))
    world.send("jill@library.example", "jill@example.edu")

    [msg] = edu.wait_for_messages(1, timeout=30)
    assert msg.login == LOGIN[0] and msg.tls == "", (msg.login, msg.tls)  # the password went in clear
    with pytest.raises(AssertionError, match=r"sent AUTH in clear: .*'AUTH (PLAIN|LOGIN)") as said:
        never_in_clear(edu)
    # The failure names the command, never the credentials it carried (PLAIN's base64, LOGIN's two lines).
    assert not any(secret in str(said.value) for secret in (*LOGIN, *_encoded())), str(said.value)


def _encoded() -> tuple[str, ...]:
    import base64
    user, password = (x.encode() for x in LOGIN)
    return tuple(base64.b64encode(x).decode() for x in (b"\0" + user + b"\0" + password, user, password))
