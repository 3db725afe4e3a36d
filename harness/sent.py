"""Sent: a message the harness submitted (its envelope, transcript and message), and the way to its verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import TYPE_CHECKING

from .keywords import keywords
from .smtp import Envelope, Transcript, xtext

if TYPE_CHECKING:
    from .dsn import OriginalEnvelope
    from .verdict import SentWorld, Story


@dataclass
class Sent:
    """A message the harness submitted: its envelope, the SMTP transcript, the message itself."""

    envelope: Envelope
    transcript: Transcript
    message: EmailMessage
    via: str
    world: SentWorld | None = field(default=None, repr=False, compare=False)  # where it was sent (a MailTopology)

    @keywords
    def verdict(self, timeout: float = 10.0) -> Story:
        """Everything that happened to this message on every node, once nothing about it is still queued
        (waiting up to `timeout` seconds on log events). Asking again gathers again: the newer story takes the
        older one's place among the world's stories (the report shows each message once)."""
        from .verdict import gather

        assert self.world is not None
        story = gather(self.world, self, timeout=timeout)
        stories = self.world.stories
        mine = next((i for i, s in enumerate(stories) if s.sent is self), None)
        if mine is None:
            stories.append(story)
        else:
            stories[mine] = story
        return story

    def original_envelope(self) -> OriginalEnvelope:
        """The envelope as the DSN rules need it (harness.dsn context)."""
        from .dsn import OriginalEnvelope
        from .dsn.context import RecipientParams

        env = self.envelope
        rcpts = tuple(RecipientParams(r.address, frozenset(r.notify) if r.notify else None, r.orcpt_value)
                      for r in env.recipients)
        return OriginalEnvelope(env.sender, rcpts, env.ret.upper() if env.ret else None,  # type: ignore[arg-type]
                                xtext(env.envid) if env.envid else None, str(self.message["From"] or "") or None)

    @property
    def accepted(self) -> bool:
        return self.transcript.accepted

    @property
    def queue_id(self) -> str | None:
        return self.transcript.queue_id
