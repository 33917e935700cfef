"""The operator's settings: built once from the command line and handed to every controller.

kopf's ``OperatorSettings`` is the model: one object instead of ``os.environ`` and module globals, so a
flag such as ``--context`` reaches every reader (kopf's login, the Application controller, the package
controllers registered through the ``lockstep.controllers`` entry point) and tests can build their own.
The object also owns the one cluster connection (kubeconfig, credential plugin cache) they share.
"""

from __future__ import annotations

import argparse
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core_sync.auto_shard import AutoShard
    from core_sync.kube import KubeClient, KubeConfig
    from core_sync.tenancy import TenancyPolicy


@dataclass
class OperatorSettings:
    """What ``lockstep operator`` was asked to do, and the cluster access built from it."""

    kubeconfig: str | None = None
    context: str | None = None
    namespaces: tuple[str, ...] = ()
    peering: str | None = None
    priority: int = 0
    http: str = "0.0.0.0:8080"
    controllers: tuple[str, ...] | None = None
    log_format: str = "json"
    verbose: bool = False
    insecure_kubeconfig_exec: bool = False
    default_service_account: str | None = None
    no_cross_namespace_refs: bool = False
    shard: str | None = None
    """``--shard``: reconcile only objects labelled ``lockstep.dev/shard=<shard>``; ``None``: unlabelled."""
    shard_namespace: str = "default"
    """Where ``--shard auto`` replicas keep their ``lockstep-shard-<id>`` Leases."""
    shard_lease_seconds: int = 15
    # every parsed flag by its argparse name, including those package controllers add through the
    # ``lockstep.operator_options`` entry points (e.g. the SealedSecret controller's ``key_renew_period``)
    options: dict[str, Any] = field(default_factory=dict)
    _config: KubeConfig | None = field(default=None, repr=False, compare=False)
    _client: KubeClient | None = field(default=None, repr=False, compare=False)
    _placement: AutoShard | None = field(default=None, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> OperatorSettings:
        controllers = [c.strip() for c in (args.controllers or "").split(",") if c.strip()]
        return cls(
            kubeconfig=args.kubeconfig,
            context=args.context,
            namespaces=tuple(args.namespace),
            peering=args.peering,
            priority=args.priority,
            http=args.http,
            controllers=tuple(controllers) or None,
            log_format=args.log_format,
            verbose=args.verbose,
            insecure_kubeconfig_exec=args.insecure_kubeconfig_exec,
            default_service_account=args.default_service_account,
            no_cross_namespace_refs=args.no_cross_namespace_refs,
            shard=getattr(args, "shard", None),
            shard_namespace=getattr(args, "shard_namespace", "default"),
            shard_lease_seconds=getattr(args, "shard_lease_seconds", 15),
            options=dict(vars(args)),
        )

    def tenancy(self) -> TenancyPolicy:
        """The multi-tenancy flags as the reconciler's policy (``--default-service-account``,
        ``--no-cross-namespace-refs``)."""
        from core_sync.tenancy import TenancyPolicy

        return TenancyPolicy(self.default_service_account, self.no_cross_namespace_refs)

    def wants(self, controller: str) -> bool:
        return self.controllers is None or controller in self.controllers

    def kube_config(self) -> KubeConfig:
        """The operator's own cluster access (``--kubeconfig``/``--context``), loaded once and shared:
        one credential-plugin cache for kopf's login and every controller. Plugins never get stdin."""
        with self._lock:
            if self._config is None:
                from core_sync.kube import KubeConfig

                self._config = KubeConfig.load(self.kubeconfig, self.context, interactive=False)
            return self._config

    def kube_client(self) -> KubeClient:
        """One REST client on :meth:`kube_config`, shared by the controllers."""
        config = self.kube_config()
        with self._lock:
            if self._client is None:
                from core_sync.kube import KubeClient

                self._client = KubeClient(config)
            return self._client

    def placement(self) -> AutoShard | None:
        """``--shard auto``: the one membership view every controller shares; ``None`` otherwise."""
        if self.shard != "auto":
            return None
        client = self.kube_client()
        with self._lock:
            if self._placement is None:
                from core_sync.auto_shard import AutoShard, replica_id

                self._placement = AutoShard(
                    client, self.shard_namespace, self.shard_lease_seconds, replica_id(), self.namespaces
                )
            return self._placement
