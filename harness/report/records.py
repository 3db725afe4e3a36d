"""Scenario records: what one test did to its messages, as plain JSON-ready data (dicts, lists, str, int, float).

    record = scenario_record(item.nodeid, "failed", 1.52, "what it checks", topology.stories)
    write_records_jsonl([record, ...], "mailharness.jsonl")
    render_html([record, ...], title="...")          # harness.report.html

Building a record never raises: whatever cannot be read (a DSN missing from its mailbox, a container gone, a
message that is not a DSN) becomes a note among the DSN's findings (level "note") or the message's "notes".
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from harness.dsn import DSN, parse_dsn, validate
from harness.verdict import EmittedDsn, Hop, Story

log = logging.getLogger("mailharness")

Record = dict[str, Any]
NOTE = "note"  # the level of what the report itself could not do (next to the validator's error and warning)


def scenario_record(nodeid: str, outcome: str, duration: float, doc: str, stories: Sequence[Story], *,
                    read_dsns: bool = True) -> Record:
    """One test's record: its outcome and, per message it gathered a verdict on, the hops, DSNs and what is still
    queued. With `read_dsns`, each delivered DSN is read from its mailbox, parsed and validated (profile
    "postfix", with the original envelope)."""
    return {
        "nodeid": str(nodeid),
        "name": str(nodeid).split("::")[-1].removeprefix("test_"),
        "outcome": str(outcome),
        "duration": float(duration),
        "doc": str(doc or ""),
        "nodes": _nodes(stories),
        "messages": [message_record(s, read_dsns=read_dsns) for s in stories],
    }


def message_record(story: Story, *, read_dsns: bool = True) -> Record:
    """One message's part of a record (see scenario_record)."""
    rec: Record = {"sender": "", "recipients": [], "message_id": "", "via": "", "hops": [], "dsns": [],
                   "pending": [], "notes": []}
    try:
        env = story.sent.envelope
        names = _names(story)
        rec.update(sender=env.sender, recipients=[r.address for r in env.recipients],
                   message_id=str(story.sent.message["Message-ID"] or "").strip(),
                   via=names.get(story.sent.via, story.sent.via))
        rec["hops"] = [hop_record(h, names) for h in story.hops]
        rec["pending"] = [{"node": names.get(node, node), "queue_id": qid} for node, qid in story.pending]
    except Exception as exc:  # anything a half-gathered Story lacks (AttributeError, KeyError...): a report must
        # never crash a test run, so the reason becomes a note in the record (and the traceback goes to the log)
        log.debug("could not describe the message", exc_info=True)
        rec["notes"].append(f"could not describe the message: {_exc(exc)}")
    boxes: dict[str, list[EmailMessage]] = {}
    for d in getattr(story, "dsns", []):
        rec["dsns"].append(dsn_record(story, d, boxes if read_dsns else None))
    return rec


def _names(story: Story) -> Mapping[str, str]:
    """How the record names the story's nodes (Story.names: a node running the user's configuration by its host
    name); {} when the story's directory cannot say."""
    try:
        return dict(story.names)
    except Exception as exc:  # a half-built Story or a directory without display names (AttributeError...): the
        # record then names every node by its node name
        log.debug("no display names from %r: %s: %s", getattr(story, "directory", None), type(exc).__name__, exc)
        return {}


def hop_record(h: Hop, names: Mapping[str, str] | None = None) -> Record:
    """A hop as data, its nodes named as `names` says (Story.names), else by their node names."""
    names = names or {}
    return {
        "seq": h.seq,
        "node": names.get(h.node, h.node),
        "kind": h.kind,
        "recipient": h.recipient,
        "peer": names.get(h.peer, h.peer),
        "stage": h.stage or "",
        "reply": str(h.reply) if h.reply is not None else None,
        "code": h.reply.code if h.reply is not None else None,
        "enhanced": h.reply.enhanced if h.reply is not None else None,
        "status": h.status,
        "detail": h.detail,
        "queue_id": h.queue_id,
        "dsn": bool(h.dsn),
        "tls": h.tls.describe() if h.tls is not None else "",
        "tls_verified": bool(h.tls is not None and h.tls.verified),
        "tls_required": h.tls_required,
    }


def dsn_record(story: Story, d: EmittedDsn, boxes: dict[str, list[EmailMessage]] | None) -> Record:
    """An emitted DSN; when `boxes` is given (a per-message cache of mailboxes read), its content too."""
    names = _names(story)
    rec: Record = {"node": names.get(d.node, d.node), "queue_id": d.queue_id, "kind": d.kind, "to": d.to,
                   "delivered_at": names.get(d.delivered_at, d.delivered_at), "message_id": d.message_id,
                   "about": list(d.about), "findings": [], "summary": None}
    if boxes is None or not d.delivered_at:
        return rec
    try:
        msg = _find_in_mailbox(story, d, boxes)
        if msg is None:
            rec["findings"].append(_note(f"not found in {d.to}'s mailbox (Message-ID {d.message_id or '?'})"))
            return rec
        parsed = parse_dsn(msg)
        if not isinstance(parsed, DSN):
            rec["findings"].append(_note(f"the message is not a DSN ({parsed.kind}): {parsed.reason}"))
        else:
            rec["summary"] = dsn_summary(parsed, d.about)
        rec["findings"] += [{"rule": f.rule, "level": f.level, "message": f.message}
                            for f in validate(parsed, "postfix", envelope=story.sent.original_envelope())]
    except Exception as exc:  # a container gone (docker errors, OSError), a mailbox unreadable, a parser or
        # validator bug: a report must never crash a test run, so the reason becomes a finding (level "note")
        log.debug("could not read the DSN %s", d.message_id, exc_info=True)
        rec["findings"].append(_note(f"could not read the DSN: {_exc(exc)}"))
    return rec


def dsn_summary(dsn: DSN, about: Iterable[str] = ()) -> Record:
    """The fields one looks at first: of the recipient block about `about` (else the first block)."""
    wanted = [a.lower() for a in about]
    block = next((r for r in dsn.recipients if (r.address or "").lower() in wanted), None)
    block = block or (dsn.recipients[0] if dsn.recipients else None)
    return {
        "action": block.action if block else None,
        "status": (block.status or block.status_raw) if block else None,
        "reporting_mta": dsn.reporting_mta,
        "remote_mta": block.remote_mta.value if block and block.remote_mta else None,
        "diagnostic_code": str(block.diagnostic_code) if block and block.diagnostic_code else None,
        "final_recipient": block.address if block else None,
        "recipients": len(dsn.recipients),
    }


def _find_in_mailbox(story: Story, d: EmittedDsn, boxes: dict[str, list[EmailMessage]]) -> EmailMessage | None:
    key = d.to.lower()
    if key not in boxes:
        boxes[key] = story.mailboxes.mailbox(d.to).messages()
    for m in boxes[key]:
        if str(m["Message-ID"] or "").strip() == d.message_id:
            return m
    return None


def _nodes(stories: Sequence[Story]) -> list[Record]:
    out: dict[str, Record] = {}
    for s in stories:
        try:
            names = _names(s)
            for n in s.directory.nodes.values():
                rec = out.setdefault(n.name, {"name": names.get(n.name, n.name), "domain": n.domain,
                                              "hostname": n.hostname, "kind": n.kind})
                if n.name in names:  # named by its host name: the topology's own name for it, for the picture
                    rec["node"] = n.name
                release = getattr(n, "release", "")  # the MTA and release a real MTA node ran ("Postfix 3.10")
                if release:
                    rec["release"] = str(release)
        except Exception as exc:  # a directory without a node list (AttributeError) or with a partial one: the
            # hops still name the nodes, so the report only loses their domains
            log.debug("no node list from %r: %s: %s", getattr(s, "directory", None), type(exc).__name__, exc)
            continue
    return list(out.values())


def _note(message: str) -> Record:
    return {"rule": "report", "level": NOTE, "message": message}


def _exc(exc: BaseException) -> str:
    return f"{exc.__class__.__name__}: {exc}".strip().rstrip(":")


# -- text views ----------------------------------------------------------------------------------------------------
def hop_text(h: Record) -> str:
    """One line for a hop record, worded as Hop.render words a hop."""
    what = f"{'DSN ' if h.get('dsn') else ''}{h.get('kind', '')}"
    rcpt = f" <{h['recipient']}>" if h.get("recipient") else ""
    if h.get("kind") == "rejected":
        return f"{h['node']}: rejected{rcpt} from {h.get('peer') or '?'} at {h.get('stage') or '?'}: {h.get('reply')}"
    if h.get("kind") == "accepted":
        return f"{h['node']}: accepted from {h.get('peer') or '?'}: {h.get('reply')}"
    if h.get("kind") == "unreachable":
        return f"{h['node']}: {what} from {h.get('peer') or '?'} at {h.get('stage') or '?'}: {h.get('detail', '')}"
    if h.get("kind") == "lost":
        return f"{h['node']}: {'DSN ' if h.get('dsn') else ''}session with {h.get('peer') or '?'} lost at " \
               f"{h.get('stage') or '?'}: {h.get('detail', '')}"
    tls = tls_text(h)
    if h.get("reply"):
        return f"{h['node']}: {what}{rcpt}, {h.get('peer') or 'the next hop'} said at {h.get('stage') or '?'}: " \
               f"{h['reply']}{tls}"
    who = f"{h['node']} -> {h['peer']}" if h.get("peer") else h.get("node", "")
    at = f" at {h['stage']}" if h.get("stage") else ""
    extra = ", ".join(x for x in (h.get("status", ""), h.get("detail", "")) if x)
    return f"{who}: {what}{rcpt}{at}" + (f" ({extra})" if extra else "") + tls


def in_clear_against_policy(h: Record) -> bool:
    """A hop record relayed in clear although the sending node's policy required TLS (Hop.in_clear_against_policy)."""
    return h.get("kind") == "relayed" and not h.get("tls") and bool(h.get("tls_required"))


def tls_text(h: Record) -> str:
    """What a hop record says of TLS, as Hop.render words it: " [TLSv1.3, verified]", " [in clear, TLS required:
    ...]", or ""."""
    if h.get("tls"):
        return f" [{h['tls']}]"
    return f" [in clear, TLS required: {h['tls_required']}]" if in_clear_against_policy(h) else ""


def junit_properties(record: Record) -> list[tuple[str, str]]:
    """(name, value) pairs for a test's `user_properties`, so that --junitxml carries each message's path, DSNs
    and DSN findings. Values are single lines."""
    msgs = record.get("messages", [])
    props = [("mailharness.messages", str(len(msgs)))]
    for i, m in enumerate(msgs, 1):
        key = f"mailharness.message.{i}"
        props.append((f"{key}.envelope", f"<{m.get('sender', '')}> -> {', '.join(m.get('recipients', []))} "
                                         f"(Message-ID {m.get('message_id') or '?'}), via {m.get('via') or '?'}"))
        props.append((f"{key}.path", _line(" | ".join(f"{n}. {hop_text(h)}" for n, h in enumerate(m["hops"], 1))
                                           or "(no hop)")))
        for j, d in enumerate(m.get("dsns", []), 1):
            where = f"delivered at {d['delivered_at']}" if d.get("delivered_at") else "not delivered (yet)"
            s = d.get("summary") or {}
            fields = ", ".join(f"{k}={v}" for k, v in s.items() if v not in (None, "") and k != "recipients")
            props.append((f"{key}.dsn.{j}", _line(f"{d['kind']} from {d['node']} to <{d.get('to') or '?'}>, "
                                                  f"{where}" + (f": {fields}" if fields else ""))))
            if d.get("file"):  # kept by --mailharness-keep-dsns
                props.append((f"{key}.dsn.{j}.file", str(d["file"])))
            props.append((f"{key}.dsn.{j}.findings", _line(" | ".join(
                f"{f['rule']} {f['level']}: {f['message']}" for f in d.get("findings", [])) or "none")))
        for p in m.get("pending", []):
            props.append((f"{key}.pending", f"still queued at {p['node']}: {p['queue_id']}"))
        for note in m.get("notes", []):
            props.append((f"{key}.note", _line(note)))
    return props


def _line(text: str) -> str:
    return " ".join(text.split())


# -- files ---------------------------------------------------------------------------------------------------------
def write_records_jsonl(records: Iterable[Record], path: str | os.PathLike[str]) -> Path:
    """One JSON object per line (UTF-8); the parent folder is created. Returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")
    return out


def read_records_jsonl(path: str | os.PathLike[str]) -> list[Record]:
    """The records of write_records_jsonl (blank lines ignored)."""
    with Path(path).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
