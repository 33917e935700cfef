"""``lockstep import``: the guide's Argo CD and Flux manifests become Lockstep objects the API server accepts.

The real console script runs on the issue's examples; its stdout is applied to the real API server (the
control plane has crds/ installed) and read back, its stderr lists what did not carry over.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from core_sync.importers.convert import convert
from core_sync.importers.flux import seconds

LOCKSTEP = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "lockstep"
API = "/apis/lockstep.dev/v1alpha1"

ARGO_APPLICATION = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: my-app
  namespace: argocd
  annotations:
    argocd.argoproj.io/sync-wave: "2"
spec:
  project: default
  source:
    repoURL: https://github.com/my-org/my-app-config.git
    targetRevision: main
    path: apps/my-app
  destination:
    server: https://kubernetes.default.svc
    namespace: production
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
    syncOptions:
    - CreateNamespace=true
"""

FLUX = """\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: my-app
  namespace: flux-system
spec:
  interval: 1m
  url: https://github.com/my-org/my-app-config
  ref:
    branch: main
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: my-app
  namespace: flux-system
spec:
  interval: 5m
  path: ./apps/my-app
  prune: true
  sourceRef:
    kind: GitRepository
    name: my-app
  targetNamespace: production
"""

APPLICATION_SET = """\
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: my-app-set
  namespace: argocd
spec:
  generators:
  - clusters:
      selector:
        matchLabels:
          env: production
  template:
    metadata:
      name: 'my-app-{{name}}'
    spec:
      project: default
      source:
        repoURL: https://github.com/my-org/my-app-config.git
        targetRevision: main
        path: apps/my-app
      destination:
        server: '{{server}}'
        namespace: production
      syncPolicy:
        automated:
          prune: true
          selfHeal: true
"""

APP_PROJECT = """\
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: team-a
  namespace: argocd
spec:
  sourceRepos:
  - https://github.com/my-org/*
  destinations:
  - namespace: 'team-a-*'
    server: https://kubernetes.default.svc
  - namespace: '*'
    server: https://10.0.0.1:6443
  clusterResourceWhitelist:
  - group: ''
    kind: Namespace
  roles:
  - name: ci
"""


def test_app_project_becomes_a_project() -> None:
    result = convert(docs(APP_PROJECT))
    [proj] = result.objects
    assert (proj["kind"], proj["metadata"]) == ("Project", {"name": "team-a"})
    assert proj["spec"] == {
        "sourceRepos": ["https://github.com/my-org/*"],
        "destinations": [{"namespace": "team-a-*", "cluster": "in-cluster"}],
        "clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}],
    }
    assert any("https://10.0.0.1:6443" in n for n in result.notes)
    assert any("spec.roles" in n for n in result.notes)


def run_import(*args: str) -> subprocess.CompletedProcess[str]:
    assert LOCKSTEP.exists(), f"{LOCKSTEP} is missing (make venv)"
    return subprocess.run([str(LOCKSTEP), "import", *args], capture_output=True, text=True, timeout=60)


def docs(text: str) -> list[tuple[str, dict[str, Any]]]:
    return [("guide.yaml", d) for d in yaml.safe_load_all(text) if d]


def test_argo_application_converts_field_by_field() -> None:
    result = convert(docs(ARGO_APPLICATION))
    assert result.notes == []
    [app] = result.objects
    assert app["apiVersion"] == "lockstep.dev/v1alpha1" and app["kind"] == "Application"
    assert app["metadata"] == {"name": "my-app", "annotations": {"lockstep.dev/sync-wave": "2"}}
    assert app["spec"] == {
        "source": {
            "repoURL": "https://github.com/my-org/my-app-config.git",
            "targetRevision": "main",
            "path": "apps/my-app",
        },
        "destination": {"namespace": "production"},
        "prune": True,
        "selfHeal": True,
        "syncOptions": ["CreateNamespace=true"],
    }


def test_argo_helm_source_keeps_the_fields_the_chart_source_reads() -> None:
    helm = (
        "    helm:\n      releaseName: shop\n      valueFiles: [values-prod.yaml]\n"
        "      parameters: [{name: image.tag, value: '1.2'}]\n      valuesObject: {replicas: 3}\n"
        "      skipCrds: true\n      passCredentials: true\n"
    )
    path = "    path: apps/my-app\n"
    result = convert(docs(ARGO_APPLICATION.replace(path, path + helm)))
    [app] = result.objects
    assert app["spec"]["source"]["helm"] == {
        "releaseName": "shop",
        "valueFiles": ["values-prod.yaml"],
        "parameters": [{"name": "image.tag", "value": "1.2"}],
        "valuesObject": {"replicas": 3},
        "skipCrds": True,
    }
    assert len(result.notes) == 1 and "spec.source.helm.passCredentials has no" in result.notes[0]


def test_flux_pair_converts_and_notes_the_single_interval() -> None:
    result = convert(docs(FLUX))
    [app] = result.objects
    assert app["metadata"] == {"name": "my-app"}
    assert app["spec"] == {
        "source": {
            "repoURL": "https://github.com/my-org/my-app-config",
            "targetRevision": "main",
            "path": "apps/my-app",
        },
        "destination": {"namespace": "production"},
        "interval": "1m",
        "prune": True,
        "selfHeal": True,
    }
    assert len(result.notes) == 1 and "interval 1m" in result.notes[0] and "5m" in result.notes[0]
    assert seconds("1m30s") == 90 and seconds("500ms") == 0.5


def test_flux_decryption_converts_field_by_field() -> None:
    """spec.decryption as docs/migrating.md maps it: provider sops + secretRef.name carry over; the rest is a
    note (Flux's KMS routes have no Lockstep equivalent)."""
    base = FLUX.rstrip("\n") + "\n"
    cases = {
        "  decryption:\n    provider: sops\n    secretRef:\n      name: sops-age\n": (
            {"sops": {"secretRef": {"name": "sops-age"}}},
            None,
        ),
        "  decryption:\n    provider: sops\n": (None, "no secretRef"),
        "  decryption:\n    provider: sops\n    secretRef: {name: k}\n    serviceAccountName: kms\n": (
            {"sops": {"secretRef": {"name": "k"}}},
            "serviceAccountName",
        ),
    }
    for block, (expected, note) in cases.items():
        result = convert(docs(base + block))
        [app] = result.objects
        assert app["spec"].get("decryption") == expected, block
        if note:
            assert any(note in n for n in result.notes), result.notes


def test_application_set_keeps_generators_and_template_params() -> None:
    result = convert(docs(APPLICATION_SET))
    [appset] = result.objects
    assert appset["kind"] == "ApplicationSet"
    assert appset["spec"]["generators"] == [
        {"clusters": {"selector": {"matchLabels": {"env": "production"}}}}
    ]
    template = appset["spec"]["template"]
    assert template["metadata"] == {"name": "my-app-{{name}}"}
    assert template["spec"]["destination"] == {
        "namespace": "production",
        "kubeconfigSecretRef": {"name": "{{secretName}}"},
    }
    assert any("clusters generator" in note for note in result.notes)


def test_what_has_no_equivalent_is_noted_not_converted() -> None:
    remote = ARGO_APPLICATION.replace("https://kubernetes.default.svc", "https://10.1.2.3:6443")
    manual = ARGO_APPLICATION.replace("    automated:\n      prune: true\n      selfHeal: true\n", "")
    semver = FLUX.replace("branch: main", "semver: '>=1.0.0'")
    result = convert(docs(remote) + docs(semver))
    assert result.objects == []
    assert any("https://10.1.2.3:6443 is a remote cluster" in n for n in result.notes)
    assert any("ref.semver" in n for n in result.notes)
    suspended = convert(docs(manual))
    assert suspended.objects[0]["spec"]["suspend"] is True
    assert suspended.objects[0]["spec"]["prune"] is False
    assert any("manual sync" in n for n in suspended.notes)


@pytest.mark.integration
def test_cli_output_applies_to_the_api_server(
    tmp_path: Path, control_plane: Any, namespace: str, lockstep_storage: None
) -> None:
    platform = tmp_path / "platform"
    (platform / "argocd").mkdir(parents=True)
    (platform / "flux").mkdir()
    (platform / "argocd" / "app.yaml").write_text(
        ARGO_APPLICATION.replace("name: my-app\n", "name: argo-app\n", 1)
    )
    (platform / "argocd" / "appset.yaml").write_text(APPLICATION_SET)
    (platform / "flux" / "my-app.yaml").write_text(FLUX)
    (platform / "argocd" / "project.yaml").write_text(APP_PROJECT.replace("team-a", f"{namespace}-team-a"))
    done = run_import(str(platform))
    assert done.returncode == 0, done.stderr
    assert "interval 1m" in done.stderr and "Traceback" not in done.stderr
    objects = [d for d in yaml.safe_load_all(done.stdout) if d]
    assert [(o["kind"], o["metadata"]["name"]) for o in objects] == [
        ("Application", "argo-app"),
        ("ApplicationSet", "my-app-set"),
        ("Project", f"{namespace}-team-a"),
        ("Application", "my-app"),
    ]
    client = control_plane.client
    for obj in objects:
        plural = {"Application": "applications", "ApplicationSet": "applicationsets", "Project": "projects"}
        scope = "" if obj["kind"] == "Project" else f"/namespaces/{namespace}"
        base = f"{API}{scope}/{plural[obj['kind']]}"
        created = client.create(base, obj)
        live = client.get(f"{base}/{created['metadata']['name']}")
        assert live["spec"] == obj["spec"], f"{obj['kind']} {obj['metadata']['name']} changed on the server"


def test_cli_bad_input_is_one_clear_error_and_no_output(tmp_path: Path) -> None:
    good = tmp_path / "app.yaml"
    good.write_text(ARGO_APPLICATION)
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: argoproj.io/v1alpha1\nkind: [unclosed\n")
    done = run_import(str(good), str(broken))
    assert done.returncode == 2 and done.stdout == ""
    assert str(broken) in done.stderr and "not valid YAML" in done.stderr and "Traceback" not in done.stderr
    missing = run_import(str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "no such file" in missing.stderr and missing.stdout == ""
    nothing = tmp_path / "cm.yaml"
    nothing.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    empty = run_import(str(nothing))
    assert empty.returncode == 2 and "skipped" in empty.stderr and empty.stdout == ""


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda d, outside: (d / "leak.yaml").symlink_to(outside), "absolute symlink"),
        (lambda d, outside: (d / "leak.yaml").symlink_to(os.path.relpath(outside, d)), "outside"),
        (lambda d, outside: os.mkfifo(d / "pipe.yaml"), "FIFO"),
        (lambda d, outside: (d / "loop.yaml").symlink_to("loop.yaml"), "loop"),
    ],
    ids=["absolute-symlink", "escaping-symlink", "fifo", "loop"],
)
def test_a_directory_is_confined_like_a_repository(
    tmp_path: Path, make: Callable[[Path, Path], object], reason: str
) -> None:
    """``lockstep import DIR`` walks a tree someone else may have written: a symlink out of it (to a
    kubeconfig, say) or a FIFO is refused by name, nothing is printed, nothing hangs."""
    outside = tmp_path / "kubeconfig.yaml"
    outside.write_text(ARGO_APPLICATION.replace("my-app", "from-outside"))
    tree = tmp_path / "platform"
    (tree / "apps").mkdir(parents=True)
    (tree / "apps" / "app.yaml").write_text(ARGO_APPLICATION)
    make(tree / "apps", outside)
    done = run_import(str(tree))
    assert done.returncode == 2 and done.stdout == "", done.stderr
    assert "apps/" in done.stderr and reason in done.stderr and "Traceback" not in done.stderr
    assert "from-outside" not in done.stderr


def test_a_symlink_inside_the_directory_is_followed(tmp_path: Path) -> None:
    tree = tmp_path / "platform"
    (tree / "apps").mkdir(parents=True)
    (tree / "apps" / "app.yaml").write_text(ARGO_APPLICATION)
    (tree / "alias.yaml").symlink_to("apps/app.yaml")
    done = run_import(str(tree))
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("kind: Application\n") == 2
