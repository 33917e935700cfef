"""Notifications: Lockstep's Kubernetes Events delivered to the receivers ``Notifier`` objects declare.

Why Events are the bus: every controller (the Application reconciler here, the ExternalSecret and
SealedSecret controllers in their packages) already records what happened as a Kubernetes Event through
:func:`core_sync.events.post_event`, with secret values redacted at the source. The notifier watches those
Events, so the secret packages reach it without core_sync importing them, and a slow or dead receiver can
never stall a sync: the reconciler's only work is the Event it already wrote.

``rules`` (which Notifier wants which event) and ``payloads`` (the bytes sent) are pure; ``delivery``
(queues, dedup, retries, HTTP) and ``controller`` (kopf wiring) are the edges.
"""
