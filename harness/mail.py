"""Messages in and out: generating realistic ones (faker), reading mailboxes, waiting for deliveries."""

from __future__ import annotations

import email
import email.policy
import email.utils
import io
import tarfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from email.message import EmailMessage
from typing import TYPE_CHECKING

from . import evidence
from .errors import NotFound, WrongKind
from .evidence.events import LogEvent
from .keywords import keywords

if TYPE_CHECKING:
    from faker import Faker

    from .mta.base import MtaNode
    from .ports import MailStore

# faker is imported on first use (0.7 s: it loads every locale's providers), or by `warm_up()` in a thread while a
# topology's containers start, so that neither a process that sends no message nor the first test waits for it.
_faker: list[Faker] = []
_faker_lock = threading.Lock()


def _shared_faker() -> Faker:
    with _faker_lock:
        if not _faker:
            from faker import Faker

            _faker.append(Faker())
        return _faker[0]


def warm_up() -> None:
    """Load faker in the background (harness.world calls it as a topology starts: that mostly waits on the
    engine). A failure there is not lost: the first message made imports it again and raises."""
    threading.Thread(target=_shared_faker, name="mailharness-faker", daemon=True).start()


@keywords
def make_message(sender: str, recipients: Sequence[str], *, subject: str | None = None, body: str | None = None,
                 headers: Mapping[str, str] | None = None, seed: int | None = None) -> EmailMessage:
    """A realistic message: From/To/Subject/Date/Message-ID, and a body of plausible text (faker)."""
    fk = _shared_faker()
    if seed is not None:  # a generator of its own, so the shared one's sequence is left alone
        fk = type(fk)()
        fk.seed_instance(seed)
    msg = EmailMessage()
    domain = sender.rsplit("@", 1)[-1] if "@" in sender else "mailharness.test"
    # A null reverse-path: a bounce's usual From, with a domain (RFC 5322 s3.4.1: an addr-spec has one; Exim's
    # `verify = header_syntax` refuses a bare "MAILER-DAEMON" as an unqualified address)
    msg["From"] = sender or f"MAILER-DAEMON@{domain}"
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = subject if subject is not None else fk.sentence(nb_words=6).rstrip(".")
    msg["Date"] = email.utils.formatdate(localtime=False)
    msg["Message-ID"] = email.utils.make_msgid(domain=domain)
    for k, v in (headers or {}).items():
        if k in msg:
            del msg[k]
        msg[k] = v
    msg.set_content(body if body is not None else "\n\n".join(fk.paragraphs(nb=3)) + "\n")
    return msg


def parse_message(data: bytes) -> EmailMessage:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def is_dsn(msg: EmailMessage) -> bool:
    """Whether a message is a delivery status notification (multipart/report; report-type=delivery-status)."""
    return (msg.get_content_type() == "multipart/report"
            and str(msg.get_param("report-type", "")).lower() == "delivery-status")


class Mailbox:
    """A user's Maildir on a node that runs an MTA. Reading costs one `exec` (a tar of the folder).

    It reads the world through `harness.ports.MailStore` only: the node that holds the mailbox (found by the
    address's domain) and the log events its waits follow, from the last reset on."""

    def __init__(self, store: MailStore, address: str):
        self._store = store
        self.address = address.lower()
        self.user, _, domain = self.address.partition("@")
        node = store.node(domain)
        from .mta.base import MtaNode

        if not isinstance(node, MtaNode):
            raise WrongKind(f"{address}: {node.name} is a {node.kind} node; read its messages from the mock")
        if self.user not in node.spec.mailboxes:
            raise NotFound(f"{address}: no mailbox {self.user!r} on {node.name}; mailboxes: "
                           f"{', '.join(node.spec.mailboxes)}")
        self.node: MtaNode = node

    def messages(self) -> list[EmailMessage]:
        """Every message in the mailbox, in delivery order."""
        return [parse_message(data) for data in self.raw_messages()]

    def raw_messages(self) -> list[bytes]:
        """Every message in the mailbox as it was delivered, byte for byte (what `mailharness dsn-lint` reads),
        in delivery order."""
        # A delivery may land while tar reads (it links a finished file into new/): GNU tar then says "file
        # changed as we read it" and exits 1 with a complete archive of what it read. Files arrive whole (Maildir
        # writes in tmp/ first), so that snapshot is consistent; a later read sees the newcomer.
        raw = self.node.read(["tar", "--warning=no-file-changed", "--warning=no-file-removed", "--ignore-failed-read",
                              "-C", f"/var/mail/{self.user}", "-cf", "-", "new", "cur"], ok=(0, 1))
        out: list[tuple[str, bytes]] = []
        with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
            for m in tar.getmembers():
                if m.isfile():
                    f = tar.extractfile(m)
                    assert f is not None
                    out.append((m.name.rsplit("/", 1)[-1], f.read()))
        out.sort()  # Maildir names start with the delivery time in seconds and microseconds
        return [data for _, data in out]

    @keywords
    def wait_for(self, predicate: Callable[[EmailMessage], bool] | None = None, *, timeout: float = 15.0,
                 what: str = "") -> EmailMessage:
        """The first message in the mailbox matching `predicate` (any message when None), as an
        `email.message.EmailMessage`; it waits on the node's delivery events since the last reset (no sleeps), and
        raises `MailTimeout` after `timeout` seconds, with what each node logged last. `what` names the wait in
        that message."""
        pos = self._store.mark
        deadline = time.monotonic() + timeout
        seen = 0
        what = what or ("a message" if predicate is None else "a matching message")

        def delivered_here(e: LogEvent) -> bool:
            return evidence.is_local_delivery(e, self.node.name, self.address)

        while True:
            ev = self._store.events.wait(delivered_here, timeout=max(0.0, deadline - time.monotonic()), since=pos,
                                  what=f"{what} delivered to {self.address}",
                                  hint=self._hint(predicate, seen))
            pos = ev.seq + 1
            msgs = self.messages()
            seen = len(msgs)
            for m in msgs:
                if predicate is None or predicate(m):
                    return m

    @keywords
    def wait_for_dsn(self, timeout: float = 15.0) -> EmailMessage:
        """The first delivery status notification (multipart/report; report-type=delivery-status) in the mailbox,
        as an `email.message.EmailMessage` (check it with `assert_dsn`; keep it for ``mailharness dsn-lint`` with
        ``Path("bounce.eml").write_bytes(dsn.as_bytes())``, or run with ``--mailharness-keep-dsns=DIR``, which
        keeps every DSN a test saw); `MailTimeout` when none comes within `timeout` seconds."""
        dsn = self.wait_for(is_dsn, timeout=timeout, what="a DSN")
        self._store.dsns_seen.append((self.address, str(dsn["Message-ID"] or "").strip(), dsn))
        return dsn

    def _hint(self, predicate: object, seen: int) -> str:
        if seen:
            return f"{self.address} holds {seen} message(s), none of them matching"
        return f"nothing was delivered to {self.address} since the last reset"
