"""The notifier's pure parts and its delivery edge, without an operator: selection rules, payloads,
dedup, retries, and the HTTP sender against receivers on loopback."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from core_sync.notify import delivery, payloads
from core_sync.notify.delivery import Delivery, DeliveryFailed, HttpSender
from core_sync.notify.rules import Note, Notifier, NotifierInvalid, parse
from tests.core_sync.receivers import Receiver


def _event(
    reason: str = "Synced", warning: bool = False, component: str = "lockstep", **involved: str
) -> dict:  # type: ignore[type-arg]
    return {
        "metadata": {"namespace": "team"},
        "involvedObject": {"kind": "Application", "name": "web", "namespace": "team", **involved},
        "reason": reason,
        "message": f"{reason} happened",
        "type": "Warning" if warning else "Normal",
        "source": {"component": component},
        "lastTimestamp": "2026-01-01T00:00:00Z",
    }


def _notifier(**spec: Any) -> Notifier:
    base = {"type": "generic", "secretRef": {"name": "hook"}, "eventSources": [{"kind": "Application"}]}
    return parse({"metadata": {"namespace": "team", "name": "n"}, "spec": {**base, **spec}})


def _note(**kwargs: Any) -> Note:
    note = Note.of(_event(**kwargs))
    assert note is not None
    return note


def test_only_lockstep_components_become_notes() -> None:
    assert Note.of(_event(component="kubelet")) is None
    assert _note(component="sealed-secrets").controller == "sealed-secrets"
    assert _note(warning=True).severity == "error" and _note().severity == "info"


def test_selection_by_source_severity_and_lists() -> None:
    assert _notifier().wants(_note())
    assert not _notifier().wants(_note(namespace="elsewhere"))  # sources default to the Notifier's namespace
    assert _notifier(eventSources=[{"kind": "Application", "namespace": "elsewhere"}]).wants(
        _note(namespace="elsewhere")
    )
    assert _notifier(eventSources=[{"kind": "Application", "name": "we*"}]).wants(_note())
    assert not _notifier(eventSources=[{"kind": "Application", "name": "api"}]).wants(_note())
    assert not _notifier(eventSources=[{"kind": "ExternalSecret"}]).wants(_note())
    assert not _notifier(eventSeverity="error").wants(_note())
    assert _notifier(eventSeverity="error").wants(_note(warning=True))
    assert not _notifier(exclusionList=["^Synced"]).wants(_note())
    assert not _notifier(inclusionList=["failed"]).wants(_note())
    assert _notifier(inclusionList=["happened$"]).wants(_note())
    assert not _notifier(suspend=True).wants(_note())


def test_match_labels_select_by_the_objects_labels_read_only_when_needed() -> None:
    reads: list[str] = []

    def labels_of(note: Note) -> dict[str, str]:
        reads.append(note.name)
        return {"tier": "payments", "team": "a"}

    payments = _notifier(eventSources=[{"kind": "Application", "matchLabels": {"tier": "payments"}}])
    assert payments.wants(_note(), labels_of)
    both = [{"kind": "Application", "matchLabels": {"tier": "payments", "team": "b"}}]
    assert not _notifier(eventSources=both).wants(_note(), labels_of)  # every pair must match
    assert not payments.wants(_note())  # labels unknown: a label rule cannot match
    reads.clear()
    assert _notifier().wants(_note(), labels_of)
    assert not _notifier(eventSources=[{"kind": "ExternalSecret", "matchLabels": {"a": "b"}}]).wants(
        _note(), labels_of
    )
    assert reads == []  # no label rule, or the kind already differs: the object is never read


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"type": "teams"}, "spec.type"),
        ({"secretRef": {}}, "spec.secretRef.name"),
        ({"eventSources": []}, "spec.eventSources"),
        ({"eventSources": [{"name": "x"}]}, r"eventSources\[0\].kind"),
        ({"eventSeverity": "debug"}, "eventSeverity"),
        ({"exclusionList": ["(unclosed"]}, r"exclusionList\[0\]: not a valid regular expression"),
        ({"inclusionList": ["a" * 600]}, r"inclusionList\[0\] is longer"),
        ({"rateLimitInterval": "soon"}, "spec:"),
        (
            {"eventSources": [{"kind": "Application", "name": "web", "matchLabels": {"a": "b"}}]},
            r"eventSources\[0\].matchLabels selects by label, so name must be '\*'",
        ),
        ({"eventSources": [{"kind": "Application", "matchLabels": {"a": 1}}]}, "must map label names"),
    ],
)
def test_invalid_specs_name_the_field(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(NotifierInvalid, match=message):
        _notifier(**spec)


def test_no_cross_namespace_refs_keeps_a_notifier_to_its_namespace() -> None:
    sources = [{"kind": "Application", "namespace": "other"}]
    spec = {"type": "generic", "secretRef": {"name": "hook"}, "eventSources": sources}
    other = {"metadata": {"namespace": "team", "name": "n"}, "spec": spec}
    assert parse(other).sources[0].namespace == "other"
    with pytest.raises(NotifierInvalid, match=r"eventSources\[0\].namespace 'other' is outside"):
        parse(other, cross_namespace=False)
    own = {**other, "spec": {**spec, "eventSources": [{"kind": "Application"}]}}
    assert parse(own, cross_namespace=False).sources[0].namespace == "team"


def test_generic_payload_is_flux_event_json_and_hmac_signs_it() -> None:
    notifier = _notifier(type="generic-hmac", summary="prod")
    data = payloads.body(_note(), notifier)
    document = json.loads(data)
    assert document["involvedObject"] == {
        "kind": "Application",
        "namespace": "team",
        "name": "web",
        "uid": "",
        "apiVersion": "",
    }
    assert (document["severity"], document["reason"], document["metadata"]) == (
        "info",
        "Synced",
        {"summary": "prod"},
    )
    headers = payloads.headers(notifier, data, b"key")
    assert headers["X-Signature"] == "sha256=" + hmac.new(b"key", data, hashlib.sha256).hexdigest()
    with pytest.raises(ValueError, match="token"):
        payloads.headers(notifier, data, None)


def test_slack_payload_shape() -> None:
    document = json.loads(
        payloads.body(_note(warning=True), _notifier(type="slack", channel="c", username="u"))
    )
    assert document["channel"] == "c" and document["username"] == "u"
    (attachment,) = document["attachments"]
    assert attachment["color"] == "danger"
    assert attachment["author_name"] == "application/web.team"
    assert attachment["text"] == "Synced happened"


class Recorder:
    def __init__(self, failures: list[DeliveryFailed] | None = None) -> None:
        self.failures = list(failures or [])
        self.sent: list[Note] = []
        self.calls = 0

    def __call__(self, notifier: Notifier, note: Note) -> None:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(note)


def _until(check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_same_event_is_sent_once_per_window() -> None:
    now = [100.0]
    send = Recorder()
    line = Delivery(_notifier(rateLimitInterval="60s"), send, clock=lambda: now[0])
    try:
        assert line.offer(_note())
        assert not line.offer(_note())  # deduplicated
        assert line.offer(_note(reason="SyncFailed"))  # another event
        now[0] += 61
        assert line.offer(_note())  # the window passed
        _until(lambda: len(send.sent) == 3)
    finally:
        line.stop()


def test_failures_are_retried_with_backoff_until_delivered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery, "FIRST_BACKOFF_S", 0.05)
    send = Recorder([DeliveryFailed("down", retry=True), DeliveryFailed("down", retry=True)])
    line = Delivery(_notifier(), send)
    try:
        began = time.monotonic()
        line.offer(_note())
        _until(lambda: send.sent)
        assert send.calls == 3 and time.monotonic() - began >= 0.15  # 0.05 + 0.1 of backoff
    finally:
        line.stop()


def test_a_permanent_failure_is_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery, "FIRST_BACKOFF_S", 0.01)
    send = Recorder([DeliveryFailed("HTTP 404", retry=False)])
    line = Delivery(_notifier(), send)
    try:
        line.offer(_note())
        line.offer(_note(reason="Other"))
        _until(lambda: send.sent)
        assert send.calls == 2 and [n.reason for n in send.sent] == ["Other"]
    finally:
        line.stop()


@pytest.fixture
def answering() -> Iterator[tuple[str, list[int]]]:
    """A receiver answering each POST with the next status of the list (then 200)."""
    receiver = Receiver(b"")
    receiver.start()
    yield f"{receiver.url}/hook?token=url-secret", receiver.statuses
    receiver.stop()


def test_http_sender_classifies_answers_and_never_names_the_address(answering: tuple[str, list[int]]) -> None:
    url, statuses = answering
    secret = {"address": url.encode()}
    sender = HttpSender(lambda ns, name: secret)
    sender(_notifier(), _note())  # 200
    for status, retry in ((503, True), (429, True), (404, False)):
        statuses.append(status)
        with pytest.raises(DeliveryFailed) as failed:
            sender(_notifier(), _note())
        assert failed.value.retry is retry and f"HTTP {status}" in str(failed.value)
    secret["address"] = b"http://127.0.0.1:1/hook?token=url-secret"
    with pytest.raises(DeliveryFailed) as refused:
        sender(_notifier(), _note())
    assert refused.value.retry and "url-secret" not in str(refused.value)
    secret["address"] = b"file:///etc/passwd"
    with pytest.raises(DeliveryFailed, match="not an http"):
        sender(_notifier(), _note())
    secret["address"] = url.encode()
    with pytest.raises(DeliveryFailed, match="token"):
        sender(_notifier(type="generic-hmac"), _note())


def test_controller_sends_only_new_events_and_watches_only_while_a_notifier_exists(
    control_plane: Any, namespace: str
) -> None:
    from core_sync.events import post_event
    from core_sync.notify.controller import NotificationController

    client = control_plane.client
    app = {
        "apiVersion": "lockstep.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "web", "namespace": namespace},
    }
    post_event(client, app, "Synced", "before any Notifier: history")
    send = Recorder()
    controller = NotificationController(client, send=send, namespaces=(namespace,))
    notifiers = f"/apis/lockstep.dev/v1alpha1/namespaces/{namespace}/notifiers"
    spec = {"type": "generic", "secretRef": {"name": "hook"}, "eventSources": [{"kind": "Application"}]}
    body = {
        "apiVersion": "lockstep.dev/v1alpha1",
        "kind": "Notifier",
        "metadata": {"name": "n"},
        "spec": spec,
    }
    try:
        assert not controller.feed.running()
        controller.on_notifier("ADDED", client.create(notifiers, body))
        assert controller.feed.running()
        time.sleep(1.1)  # Event times have one-second resolution: this one is after the feed started
        post_event(client, app, "DriftCorrected", "after")
        post_event(client, app, "Synced", "from elsewhere", component="kubelet")
        _until(lambda: send.sent)
        time.sleep(1)
        assert [n.reason for n in send.sent] == ["DriftCorrected"]
        assert client.get(f"{notifiers}/n")["status"]["conditions"][0]["reason"] == "Initialized"

        bad = {**body, "metadata": {"name": "bad"}, "spec": {**spec, "exclusionList": ["(unclosed"]}}
        controller.on_notifier("ADDED", client.create(notifiers, bad))
        condition = client.get(f"{notifiers}/bad")["status"]["conditions"][0]
        assert (condition["status"], condition["reason"]) == ("False", "InvalidSpec")
        assert "exclusionList[0]" in condition["message"]

        controller.on_notifier("DELETED", client.get(f"{notifiers}/n"))
        assert not controller.feed.running() and not controller.deliveries
    finally:
        controller.stop()


def test_controller_reads_labels_of_the_events_object_for_match_labels(
    control_plane: Any, namespace: str
) -> None:
    from core_sync.events import post_event
    from core_sync.notify.controller import NotificationController

    client = control_plane.client
    apps = f"/apis/lockstep.dev/v1alpha1/namespaces/{namespace}/applications"
    spec = {"source": {"repoURL": "http://127.0.0.1:9/none.git", "path": "."}}
    made = {}
    for name, labels in (("pay", {"tier": "payments"}), ("web", {"tier": "frontend"})):
        made[name] = client.create(
            apps,
            {
                "apiVersion": "lockstep.dev/v1alpha1",
                "kind": "Application",
                "metadata": {"name": name, "labels": labels},
                "spec": spec,
            },
        )
    send = Recorder()
    controller = NotificationController(client, send=send, namespaces=(namespace,))
    notifiers = f"/apis/lockstep.dev/v1alpha1/namespaces/{namespace}/notifiers"
    sources = [{"kind": "Application", "matchLabels": {"tier": "payments"}}]
    body = {
        "apiVersion": "lockstep.dev/v1alpha1",
        "kind": "Notifier",
        "metadata": {"name": "payments"},
        "spec": {"type": "generic", "secretRef": {"name": "hook"}, "eventSources": sources},
    }
    try:
        controller.on_notifier("ADDED", client.create(notifiers, body))
        time.sleep(1.1)  # Event times have one-second resolution: these are after the feed started
        post_event(client, made["web"], "Synced", "frontend synced")
        post_event(client, made["pay"], "Synced", "payments synced")
        _until(lambda: send.sent)
        time.sleep(1)
        assert [(n.name, n.message) for n in send.sent] == [("pay", "payments synced")]
    finally:
        controller.stop()
