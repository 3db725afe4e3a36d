"""The load run's mix: which messages go through which node, to whom, and what must become of each recipient.

The topology is the default one (store.example/jack relays to library.example/jill and example.edu/jill), with
three more mailboxes on example.edu for the faults, or YOUR configuration in place of library.example
(`mailharness load --mta-config DIR`, put in place as `mailharness check` does: harness.sut.byoc). The faults are on
the harness's own nodes (edu and store), so the same mix runs against a configuration of your own:

    recipient                       what happens                                               expected outcome
    jill@library.example            relayed by store, delivered by library                     delivered
    jill@example.edu                relayed by store, delivered by edu                         delivered
    no-such-user-N@library.example  library rejects at RCPT; store bounces to the sender       dsn
      ... submitted to library      refused to the harness's client, which informs the sender  refused
    fwd@example.edu                 edu forwards to fwd-refused@store.example, which store      dsn (from edu)
                                    refuses (Forward + Refuse)
    full@example.edu                the mailbox is full (MailboxFull): 5.2.2 at delivery       dsn (from edu)
    slow@example.edu                edu answers 451 (Refuse 4xx) until the run heals it         delivered
    ... with NOTIFY=NEVER           failed, and nobody may send a DSN                          silent

Each message has its own Message-ID (<load-RUN-N@store.example>) and its own envelope sender
(jack+mN@store.example, delivered to jack), so every log line, every DSN and every mailbox copy names its message.
Every address is in the topology: nothing can leave it.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal, get_args

from ..faults import Fault, Forward, MailboxFull, Refuse
from ..smtp import Envelope, Recipient
from ..topology import NodeSpec, TopologySpec, default_topology

Outcome = Literal["delivered", "refused", "dsn", "silent"]
"""What must become of a recipient: delivered once; refused at SMTP time to the client that submitted (which
informs the sender); failed after acceptance, with exactly one DSN to the envelope sender; failed with no DSN,
because NOTIFY=NEVER forbids one."""
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)

Kind = Literal["library", "edu", "unknown", "forward", "full", "tempfail"]

EDU_USERS = ("jill", "fwd", "full", "slow")
FORWARD_TARGET = "fwd-refused@store.example"
FORWARD_REPLY = "550 5.7.1 forward refused by the load run"
TEMPFAIL_REPLY = "451 4.7.1 busy, try again later (the load run heals this)"

# (node it is submitted to, NOTIFY for every recipient, recipients by kind). Message N takes template N % 10.
TEMPLATES: tuple[tuple[str, tuple[str, ...], tuple[Kind, ...]], ...] = (
    ("store", (), ("library",)),
    ("store", (), ("library", "edu")),
    ("store", (), ("unknown",)),
    ("library", (), ("library", "unknown")),
    ("store", (), ("forward",)),
    ("store", (), ("edu", "full")),
    ("store", (), ("tempfail",)),
    ("store", ("NEVER",), ("unknown", "forward")),
    ("store", (), ("library", "unknown", "full")),
    ("library", (), ("unknown",)),
)

_WHAT: dict[Kind, str] = {"library": "delivered at library", "edu": "delivered at edu", "unknown": "unknown user",
                          "forward": "forward refused", "full": "mailbox full", "tempfail": "tempfail, healed"}


@dataclass(frozen=True)
class PlannedRecipient:
    address: str
    kind: Kind
    scenario: str  # "unknown user, via library": the row of the accounting table
    expect: Outcome


@dataclass(frozen=True)
class PlannedMessage:
    index: int
    message_id: str  # "<load-1a2b3c4d-00042@store.example>"
    sender: str  # "jack+m42@store.example"
    via: str  # the node it is submitted to
    notify: tuple[str, ...]
    recipients: tuple[PlannedRecipient, ...]

    def envelope(self) -> Envelope:
        return Envelope(self.sender, tuple(Recipient(r.address, self.notify) for r in self.recipients))


def load_topology() -> TopologySpec:
    """The default topology, with the mailboxes the faults need on example.edu (fwd, full, slow)."""
    base = default_topology()
    nodes = tuple(NodeSpec(n.name, n.domain, users=tuple(dict.fromkeys((*n.users, *EDU_USERS))))
                  if n.name == "edu" else n for n in base.nodes)
    return TopologySpec(nodes=nodes, name="load")


@dataclass(frozen=True)
class Mix:
    """Who is who: the server in library.example's place (the harness's, or yours) and the addresses of each kind."""

    library_domain: str = "library.example"
    library_recipient: str = "jill@library.example"  # a recipient that server accepts
    library_node: str = "library"
    sender_user: str = "jack"
    sender_domain: str = "store.example"
    edu_domain: str = "example.edu"

    @property
    def tempfail_address(self) -> str:
        return f"slow@{self.edu_domain}"

    def address(self, kind: Kind, index: int) -> str:
        return {"library": self.library_recipient, "edu": f"jill@{self.edu_domain}",
                "unknown": f"no-such-user-{index}@{self.library_domain}", "forward": f"fwd@{self.edu_domain}",
                "full": f"full@{self.edu_domain}", "tempfail": self.tempfail_address}[kind]

    def standing_faults(self, messages: int) -> tuple[Fault, ...]:
        """The faults that hold for the whole run. The mailbox limit is per mbox file, and MailboxFull moves every
        mailbox of edu into that spool: it leaves about 1 kB per message for the mailboxes that must not fill."""
        return (MailboxFull("edu", "full", limit=2_000_000 + 1_000 * messages),
                Forward("edu", "fwd", to=FORWARD_TARGET),
                Refuse("store", FORWARD_TARGET, FORWARD_REPLY))

    def tempfail_fault(self) -> Fault:
        """The next hop that tempfails until the run heals it."""
        return Refuse("edu", self.tempfail_address, TEMPFAIL_REPLY)

    def expect(self, kind: Kind, via: str, notify: tuple[str, ...]) -> Outcome:
        if kind in ("library", "edu", "tempfail"):
            return "delivered"
        if kind == "unknown" and via == self.library_node:
            return "refused"
        return "silent" if "NEVER" in notify else "dsn"

    def scenario(self, kind: Kind, via: str, notify: tuple[str, ...]) -> str:
        label = _WHAT[kind]
        if kind == "unknown":
            label += f", via {via}"
        if "NEVER" in notify and self.expect(kind, via, notify) == "silent":
            label += ", NOTIFY=NEVER"
        return label

    def plan(self, messages: int, run_id: str) -> list[PlannedMessage]:
        out = []
        for i in range(messages):
            via, notify, kinds = TEMPLATES[i % len(TEMPLATES)]
            rcpts = tuple(PlannedRecipient(self.address(k, i), k, self.scenario(k, via, notify),
                                           self.expect(k, via, notify)) for k in kinds)
            via_node = self.library_node if via == "library" else via
            out.append(PlannedMessage(i, f"<load-{run_id}-{i:05d}@{self.sender_domain}>",
                                      f"{self.sender_user}+m{i}@{self.sender_domain}", via_node, notify, rcpts))
        return out


def same_workload(mix: Mix, messages: int, run_id: str) -> list[PlannedMessage]:
    """smtp-source's workload for the harness's client: one recipient that is delivered, submitted to store."""
    return [PlannedMessage(i, f"<same-{run_id}-{i:05d}@{mix.sender_domain}>",
                           f"{mix.sender_user}+s{i}@{mix.sender_domain}", "store", (),
                           (PlannedRecipient(mix.library_recipient, "library", "same workload as smtp-source",
                                             "delivered"),)) for i in range(messages)]


def render(message: PlannedMessage) -> bytes:
    """The message as it goes on the wire (a realistic one, faker's text), with the planned Message-ID."""
    from ..mail import make_message

    msg: EmailMessage = make_message(message.sender, [r.address for r in message.recipients],
                                     headers={"Message-ID": message.message_id})
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))
