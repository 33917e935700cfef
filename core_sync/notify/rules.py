"""Which Notifier wants which event (Flux's Alert selection, on Lockstep's Events), pure."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gocompat.duration import parse_strict

# the event sources the notifier forwards: core_sync's reconciler, the ExternalSecret controller and the
# SealedSecret controller (which reports as Bitnami's "sealed-secrets"); nothing else in the cluster
COMPONENTS = frozenset({"lockstep", "lockstep-external-secrets", "sealed-secrets"})
TYPES = ("generic", "generic-hmac", "slack")
DEFAULT_RATE_LIMIT_S = 300.0  # Flux notification-controller's --rate-limit-interval default (5m)
DEFAULT_TIMEOUT_S = 15.0
MAX_PATTERN = 512  # a regex longer than this is refused: the lists are for short message filters


class NotifierInvalid(ValueError):
    """A Notifier spec that cannot be used; the message names the field."""


@dataclass(frozen=True)
class Note:
    """One Lockstep event as the notifier sees it: the parts of a Kubernetes Event it forwards."""

    kind: str
    namespace: str
    name: str
    api_version: str
    uid: str
    reason: str
    message: str
    severity: str  # "info" or "error", as Flux
    timestamp: str
    controller: str

    @classmethod
    def of(cls, event: Mapping[str, Any]) -> Note | None:
        """The note for a Kubernetes Event, or None when the Event is not one of Lockstep's."""
        source = event.get("source") or {}
        controller = str(event.get("reportingComponent") or source.get("component") or "")
        if controller not in COMPONENTS:
            return None
        involved = event.get("involvedObject") or {}
        meta = event.get("metadata") or {}
        return cls(
            kind=str(involved.get("kind") or ""),
            namespace=str(involved.get("namespace") or meta.get("namespace") or ""),
            name=str(involved.get("name") or ""),
            api_version=str(involved.get("apiVersion") or ""),
            uid=str(involved.get("uid") or ""),
            reason=str(event.get("reason") or ""),
            message=str(event.get("message") or ""),
            severity="error" if event.get("type") == "Warning" else "info",
            timestamp=str(
                event.get("lastTimestamp") or event.get("eventTime") or meta.get("creationTimestamp")
            ),
            controller=controller,
        )

    def dedup_key(self) -> tuple[str, ...]:
        """Same object, reason and message: the same event again (a retry loop's repeated failure)."""
        return (self.kind, self.namespace, self.name, self.reason, self.message)


@dataclass(frozen=True)
class Source:
    kind: str
    name: str
    namespace: str
    match_labels: tuple[tuple[str, str], ...] = ()
    """Flux's ``matchLabels``: every pair must be a label of the event's object (then ``name`` is ``*``)."""


LabelsOf = Callable[[Note], Mapping[str, str]]
"""The labels of a note's object, read only when a source with ``matchLabels`` needs them."""


@dataclass(frozen=True)
class Notifier:
    """A validated ``Notifier`` spec."""

    namespace: str
    name: str
    type: str
    secret_name: str
    sources: tuple[Source, ...]
    severity: str = "info"
    inclusion: tuple[re.Pattern[str], ...] = ()
    exclusion: tuple[re.Pattern[str], ...] = ()
    channel: str = ""
    username: str = ""
    summary: str = ""
    rate_limit_s: float = DEFAULT_RATE_LIMIT_S
    timeout_s: float = DEFAULT_TIMEOUT_S
    suspend: bool = False
    generation: int = 0

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    def wants(self, note: Note, labels_of: LabelsOf | None = None) -> bool:
        """Flux's Alert rules: severity, one matching event source, inclusion then exclusion lists."""
        if self.suspend or (self.severity == "error" and note.severity != "error"):
            return False
        if not any(_source_matches(s, note, labels_of) for s in self.sources):
            return False
        if self.inclusion and not any(p.search(note.message) for p in self.inclusion):
            return False
        return not any(p.search(note.message) for p in self.exclusion)


def _source_matches(source: Source, note: Note, labels_of: LabelsOf | None) -> bool:
    if not (
        source.kind == note.kind
        and source.namespace == note.namespace
        and fnmatch.fnmatchcase(note.name, source.name)
    ):
        return False
    if not source.match_labels:
        return True
    labels = labels_of(note) if labels_of is not None else {}
    return all(labels.get(key) == value for key, value in source.match_labels)


def _match_labels(raw: Mapping[str, Any], index: int) -> tuple[tuple[str, str], ...]:
    """``eventSources[index].matchLabels`` as sorted pairs; Flux's rule: only with ``name: '*'``."""
    labels = raw.get("matchLabels")
    if labels is None:
        return ()
    if not isinstance(labels, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
    ):
        raise NotifierInvalid(f"spec.eventSources[{index}].matchLabels must map label names to strings")
    if str(raw.get("name") or "*") != "*":
        raise NotifierInvalid(
            f"spec.eventSources[{index}].matchLabels selects by label, so name must be '*' "
            f"(or unset), not {raw.get('name')!r}"
        )
    return tuple(sorted(labels.items()))


def parse(obj: Mapping[str, Any], cross_namespace: bool = True) -> Notifier:
    """A :class:`Notifier` from the object; :class:`NotifierInvalid` naming the field that is wrong.
    Without ``cross_namespace`` (``--no-cross-namespace-refs``) a tenant's Notifier may select only its own
    namespace's events, as Flux's Alerts under the same flag."""
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    namespace = str(meta.get("namespace") or "default")
    kind = spec.get("type")
    if kind not in TYPES:
        raise NotifierInvalid(f"spec.type {kind!r} is not one of {', '.join(TYPES)}")
    secret = (spec.get("secretRef") or {}).get("name")
    if not secret:
        raise NotifierInvalid("spec.secretRef.name is required (the Secret holding the address)")
    sources = []
    for index, raw in enumerate(spec.get("eventSources") or []):
        if not raw.get("kind"):
            raise NotifierInvalid(f"spec.eventSources[{index}].kind is required")
        sources.append(
            Source(
                str(raw["kind"]),
                str(raw.get("name") or "*"),
                str(raw.get("namespace") or namespace),
                _match_labels(raw, index),
            )
        )
    if not sources:
        raise NotifierInvalid("spec.eventSources must name at least one kind")
    for index, source in enumerate(sources):
        if not cross_namespace and source.namespace != namespace:
            raise NotifierInvalid(
                f"spec.eventSources[{index}].namespace {source.namespace!r} is outside the Notifier's "
                "namespace (the operator runs with --no-cross-namespace-refs)"
            )
    severity = spec.get("eventSeverity") or "info"
    if severity not in ("info", "error"):
        raise NotifierInvalid(f"spec.eventSeverity {severity!r} is not info or error")
    try:
        rate_limit = parse_strict(spec.get("rateLimitInterval"), DEFAULT_RATE_LIMIT_S)
        timeout = parse_strict(spec.get("timeout"), DEFAULT_TIMEOUT_S)
    except ValueError as invalid:
        raise NotifierInvalid(f"spec: {invalid}") from None
    return Notifier(
        namespace=namespace,
        name=str(meta.get("name")),
        type=str(kind),
        secret_name=str(secret),
        sources=tuple(sources),
        severity=severity,
        inclusion=_patterns(spec, "inclusionList"),
        exclusion=_patterns(spec, "exclusionList"),
        channel=str(spec.get("channel") or ""),
        username=str(spec.get("username") or ""),
        summary=str(spec.get("summary") or ""),
        rate_limit_s=rate_limit,
        timeout_s=timeout,
        suspend=bool(spec.get("suspend")),
        generation=int(meta.get("generation") or 0),
    )


def _patterns(spec: Mapping[str, Any], field_name: str) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for index, text in enumerate(spec.get(field_name) or []):
        if len(str(text)) > MAX_PATTERN:
            raise NotifierInvalid(f"spec.{field_name}[{index}] is longer than {MAX_PATTERN} characters")
        try:
            compiled.append(re.compile(str(text)))
        except re.error as bad:
            raise NotifierInvalid(
                f"spec.{field_name}[{index}]: not a valid regular expression: {bad}"
            ) from None
    return tuple(compiled)
