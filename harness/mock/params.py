"""MAIL FROM / RCPT TO arguments: addresses and ESMTP parameters.

Parameters are accepted only for advertised extensions (SIZE, BODY with
8BITMIME, SMTPUTF8, and DSN's ENVID, RET, NOTIFY and ORCPT); others are
refused with ``555 5.5.4 Unsupported option``.  DSN values are checked
(RFC 3461): a malformed one gets ``501 5.5.4 Bad <NAME> parameter syntax``.
Values are kept exactly as sent (xtext is not decoded)::

    >>> parse_params("NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+2Bb@x SMTPUTF8")
    {'NOTIFY': 'SUCCESS,FAILURE', 'ORCPT': 'rfc822;a+2Bb@x', 'SMTPUTF8': None}
"""

from __future__ import annotations

import re

from .records import Params, xtext_decode
from .script import Script, ScriptedReply

MAIL_RE = re.compile(r"FROM:\s*(<[^>]*>|[^<>\s]+)(.*)", re.IGNORECASE | re.DOTALL)
RCPT_RE = re.compile(r"TO:\s*(<[^>]*>|[^<>\s]+)(.*)", re.IGNORECASE | re.DOTALL)
_PARAM_KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
_ADDR_TYPE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
_NOTIFY = {"SUCCESS", "FAILURE", "DELAY"}


class Refusal(Exception):
    """A command (or one of its parameters) is refused with :attr:`reply`."""

    def __init__(self, reply: ScriptedReply) -> None:
        super().__init__(str(reply))
        self.reply = reply


def address_of(token: str) -> str:
    """``"<a@b>"`` -> ``"a@b"``; ``"<>"`` -> ``""``; a source route ``<@x,@y:a@b>`` is dropped."""
    addr = token[1:-1] if token.startswith("<") and token.endswith(">") else token
    if addr.startswith("@") and ":" in addr:  # source route <@a,@b:user@c>
        addr = addr.split(":", 1)[1]
    return addr


def parse_params(text: str) -> Params:
    """``"NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+2Bb@x SMTPUTF8"`` -> dict (keys upper-cased)."""
    params: Params = {}
    for token in text.split():
        key, eq, value = token.partition("=")
        if not _PARAM_KEY_RE.fullmatch(key) or (eq and not value):
            raise Refusal(ScriptedReply(501, "5.5.4", f"Bad parameter syntax: {token}"))
        key = key.upper()
        if key in params:
            raise Refusal(ScriptedReply(501, "5.5.4", f"Duplicate {key} parameter"))
        params[key] = value if eq else None
    return params


def _bad(key: str) -> Refusal:
    return Refusal(ScriptedReply(501, "5.5.4", f"Bad {key} parameter syntax"))


def _check_xtext(key: str, value: str | None, max_len: int) -> None:
    try:
        if value is None or len(xtext_decode(value)) > max_len:
            raise _bad(key)
    except ValueError:
        raise _bad(key) from None


def check_mail_params(params: Params, script: Script) -> None:
    """Refuse MAIL parameters the script's extensions do not allow."""
    for key, value in params.items():
        needs = {"SIZE": "SIZE", "BODY": "8BITMIME", "SMTPUTF8": "SMTPUTF8", "ENVID": "DSN", "RET": "DSN"}
        if key not in needs or not script.advertises(needs[key]):
            raise Refusal(ScriptedReply(555, "5.5.4", f"Unsupported option: {key}"))
        if key == "SIZE":
            if value is None or not value.isdigit():
                raise _bad(key)
            if script.size_limit and int(value) > script.size_limit:
                raise Refusal(ScriptedReply(552, "5.3.4", "Message size exceeds fixed limit"))
        elif key == "BODY" and (value or "").upper() not in ("7BIT", "8BITMIME"):
            raise _bad(key)
        elif key == "SMTPUTF8" and value is not None:
            raise _bad(key)
        elif key == "ENVID":
            _check_xtext(key, value, 100)
        elif key == "RET" and (value or "").upper() not in ("FULL", "HDRS"):
            raise _bad(key)


def check_rcpt_params(params: Params, script: Script) -> None:
    """Refuse RCPT parameters the script's extensions do not allow."""
    for key, value in params.items():
        if key not in ("NOTIFY", "ORCPT") or not script.advertises("DSN"):
            raise Refusal(ScriptedReply(555, "5.5.4", f"Unsupported option: {key}"))
        if key == "NOTIFY":
            words = (value or "").upper().split(",")
            if len(set(words)) != len(words) or not (words == ["NEVER"] or set(words) <= _NOTIFY):
                raise _bad(key)
        else:
            addr_type, sep, rest = (value or "").partition(";")
            if not sep or not _ADDR_TYPE_RE.fullmatch(addr_type):
                raise _bad(key)
            _check_xtext(key, rest, 500)


__all__ = ["MAIL_RE", "RCPT_RE", "Refusal", "address_of", "check_mail_params", "check_rcpt_params", "parse_params"]
