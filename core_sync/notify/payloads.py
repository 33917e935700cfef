"""The bytes a receiver gets for a note, pure: Flux's generic event JSON (signed for ``generic-hmac``) and
a Slack-compatible message. Built from the Event's names and (already redacted) message only."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from core_sync.notify.rules import Note, Notifier

SIGNATURE_HEADER = "X-Signature"  # Flux generic-hmac: "sha256=<hex HMAC-SHA256(token, body)>"
SLACK_COLORS = {"info": "good", "error": "danger"}


def generic(note: Note, notifier: Notifier) -> dict[str, Any]:
    """Flux's event format (``eventv1.Event``) as notification-controller's generic provider posts it."""
    metadata = {"summary": notifier.summary} if notifier.summary else {}
    return {
        "involvedObject": {
            "kind": note.kind,
            "namespace": note.namespace,
            "name": note.name,
            "uid": note.uid,
            "apiVersion": note.api_version,
        },
        "severity": note.severity,
        "timestamp": note.timestamp,
        "message": note.message,
        "reason": note.reason,
        "metadata": metadata,
        "reportingController": note.controller,
        "reportingInstance": note.controller,
    }


def slack(note: Note, notifier: Notifier) -> dict[str, Any]:
    """A Slack incoming-webhook message shaped as Flux's Slack provider sends it (one attachment)."""
    fields = [{"title": "reason", "value": note.reason, "short": True}]
    if notifier.summary:
        fields.append({"title": "summary", "value": notifier.summary, "short": False})
    payload: dict[str, Any] = {
        "attachments": [
            {
                "color": SLACK_COLORS[note.severity],
                "author_name": f"{note.kind.lower()}/{note.name}.{note.namespace}",
                "text": note.message,
                "mrkdwn_in": ["text"],
                "fields": fields,
            }
        ]
    }
    if notifier.channel:
        payload["channel"] = notifier.channel
    if notifier.username:
        payload["username"] = notifier.username
    return payload


def body(note: Note, notifier: Notifier) -> bytes:
    document = slack(note, notifier) if notifier.type == "slack" else generic(note, notifier)
    return json.dumps(document, separators=(",", ":")).encode()


def signature(token: bytes, data: bytes) -> str:
    """The ``X-Signature`` value Flux's generic-hmac provider sends."""
    return "sha256=" + hmac.new(token, data, hashlib.sha256).hexdigest()


def headers(notifier: Notifier, data: bytes, token: bytes | None) -> dict[str, str]:
    result = {"Content-Type": "application/json", "User-Agent": "lockstep-notifier"}
    if notifier.type == "generic-hmac":
        if not token:
            raise ValueError("generic-hmac needs the key 'token' in the Secret (the HMAC key)")
        result[SIGNATURE_HEADER] = signature(token, data)
    elif token and notifier.type == "slack":
        result["Authorization"] = f"Bearer {token.decode(errors='replace').strip()}"
    return result
