"""Every parser has limits (issue 10, defect 6): YAML alias bombs, deep nesting, deep JSON, huge
templates. Each hostile input is refused fast, with an error naming the file and the limit, exit != 0,
no traceback, and nothing applied.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from core_sync.build import BuildError, build
from core_sync.testing import ControlPlane, GitServer
from gocompat import limits
from gocompat.template import Template, TemplateError
from tests.core_sync.conftest import configmap, run_cli

FAST_S = 5.0  # every refusal below takes milliseconds; this bound only catches an unbounded expansion


def billion_laughs(levels: int = 9) -> str:
    """The classic: nine levels of nine aliases, 10**9 strings once expanded, under 1 KiB of text."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def bomb_manifest() -> str:
    """A ConfigMap whose data is an alias bomb: a valid-looking manifest."""
    body = "\n".join("  " + line for line in billion_laughs().splitlines())
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: boom\ndata:\n{body}\n"


def deep_yaml(depth: int = 2000) -> str:
    return (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata: " + "[" * depth + "]" * depth + "\n"
    )


def deep_json(depth: int = 10_000) -> str:
    return '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "deep"}, "x": ' + (
        "[" * depth + "]" * depth + "}"
    )


def run(
    *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    result = run_cli(*args, env=env, stdin=stdin.decode() if stdin is not None else None)
    assert time.monotonic() - started < FAST_S + 5  # interpreter start-up included
    assert "Traceback" not in result.stderr, result.stderr
    return result


# -- the shared helpers ------------------------------------------------------------------------------------
class TestLimitsModule:
    def test_alias_bomb_refused_in_milliseconds(self) -> None:
        started = time.monotonic()
        with pytest.raises(limits.LimitExceeded, match="excessive aliasing"):
            limits.load_yaml_all(billion_laughs())
        assert time.monotonic() - started < 1

    def test_modest_anchors_still_load(self) -> None:
        docs = limits.load_yaml_all("base: &b {x: 1, y: [1, 2]}\none: *b\ntwo: {<<: *b, z: 3}\n")
        assert docs == [
            {
                "base": {"x": 1, "y": [1, 2]},
                "one": {"x": 1, "y": [1, 2]},
                "two": {"x": 1, "y": [1, 2], "z": 3},
            }
        ]

    def test_alias_budget_counts_across_documents(self) -> None:
        doc = "a: &a [" + ",".join(["x"] * 1000) + "]\nb: [" + ",".join(["*a"] * 60) + "]\n"
        assert len(limits.load_yaml_all(doc)) == 1  # 60,000 extra nodes: under the limit
        with pytest.raises(limits.LimitExceeded, match="excessive aliasing"):
            limits.load_yaml_all(doc + "---\n" + doc)  # 120,000 across the stream: over

    def test_recursive_anchor(self) -> None:
        with pytest.raises(limits.LimitExceeded, match="refers to itself"):
            limits.load_yaml_all("a: &a [1, *a]\n")

    @pytest.mark.parametrize("loader", [yaml.SafeLoader, getattr(yaml, "CSafeLoader", yaml.SafeLoader)])
    @pytest.mark.parametrize(
        "text", [deep_yaml(300), deep_yaml(5000), "a:\n" + "".join(" " * i + "- \n" for i in range(1, 400))]
    )
    def test_depth_with_either_parser(self, loader: type, text: str) -> None:
        with pytest.raises((limits.LimitExceeded, yaml.YAMLError)) as error:
            limits.load_yaml_all(text, loader)
        if isinstance(error.value, limits.LimitExceeded):
            assert "nesting deeper than 256 levels" in str(error.value)

    def test_depth_at_the_limit_is_fine(self) -> None:
        assert limits.safe_load("[" * 255 + "]" * 255) is not None

    @pytest.mark.parametrize("depth", [300, 10_000, 200_000])
    def test_deep_json(self, depth: int) -> None:
        with pytest.raises(limits.LimitExceeded, match="nesting deeper than 256 levels"):
            limits.load_json("[" * depth + "]" * depth)

    def test_size(self) -> None:
        with pytest.raises(limits.LimitExceeded, match="over the limit"):
            limits.load_yaml_all("a: b\n" * (limits.MAX_FILE_BYTES // 5 + 1))


# -- render / diff / sync ------------------------------------------------------------------------------------
HOSTILE_FILES = {
    "bomb.yaml": (bomb_manifest, "excessive aliasing"),
    "deep.yaml": (deep_yaml, "nesting"),
    "deep.json": (deep_json, "nesting deeper than 256 levels"),
    "self.yaml": (lambda: "apiVersion: v1\nkind: List\nitems: &i [*i]\n", "refers to itself"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_FILES))
def test_build_refuses_hostile_file(tmp_path: Path, name: str) -> None:
    make, reason = HOSTILE_FILES[name]
    (tmp_path / name).write_text(make())
    started = time.monotonic()
    with pytest.raises(BuildError) as error:
        build(tmp_path)
    assert time.monotonic() - started < FAST_S
    assert error.value.path == name and reason in error.value.reason


def test_kustomization_with_alias_bomb(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: [cm.yaml]\n" + billion_laughs())
    (tmp_path / "cm.yaml").write_text(configmap("a", "1"))
    with pytest.raises(BuildError) as error:
        build(tmp_path)
    assert error.value.path == "kustomization.yaml" and "excessive aliasing" in error.value.reason


@pytest.mark.parametrize("name", sorted(HOSTILE_FILES))
def test_render_cli_refuses_hostile_file(tmp_path: Path, name: str) -> None:
    make, reason = HOSTILE_FILES[name]
    (tmp_path / name).write_text(make())
    result = run("render", str(tmp_path), "--offline")
    assert result.returncode != 0 and result.stdout == ""
    assert f"{name}: " in result.stderr and reason in result.stderr


def test_diff_and_sync_refuse_an_alias_bomb_and_apply_nothing(
    control_plane: ControlPlane, namespace: str, git_server: GitServer, tmp_path: Path
) -> None:
    env = control_plane.env()
    (tmp_path / "good.yaml").write_text(configmap("good", "1"))
    (tmp_path / "bomb.yaml").write_text(bomb_manifest())
    diff = run("diff", str(tmp_path), "-n", namespace, env=env)
    assert diff.returncode == 2 and "bomb.yaml: document 0: excessive aliasing" in diff.stderr
    url = git_server.create_repo(
        "bomb", {"deploy/good.yaml": configmap("good", "1"), "deploy/bomb.yaml": bomb_manifest()}
    )
    sync = run("sync", "--repo", url, "--path", "deploy", "-n", namespace, "--prune", env=env)
    assert sync.returncode == 1
    assert "BuildFailed" in sync.stderr and "deploy/bomb.yaml: document 0: excessive aliasing" in sync.stderr
    listed = control_plane.client.get(f"/api/v1/namespaces/{namespace}/configmaps")
    assert "good" not in [item["metadata"]["name"] for item in listed["items"]]  # nothing applied


# -- sops and seal ---------------------------------------------------------------------------------------
@pytest.fixture
def age_env(tmp_path: Path) -> dict[str, str]:
    import pyrage

    identity = pyrage.x25519.Identity.generate()
    key_file = tmp_path / "age.txt"
    key_file.write_text(f"{identity}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env.update(
        SOPS_AGE_KEY_FILE=str(key_file),
        SOPS_AGE_RECIPIENTS=str(identity.to_public()),
        HOME=str(tmp_path / "home"),
        XDG_CONFIG_HOME=str(tmp_path / "xdg"),
    )
    return env


SOPS_INPUTS = {
    "compact.yaml": (lambda: "a:\n" + "- " * 300 + "x\n", "nesting deeper than 256 levels"),
    "bomb.yaml": (billion_laughs, "excessive aliasing"),
    "commented-bomb.yaml": (
        lambda: "# a comment takes the comment-keeping reader\n" + billion_laughs(),
        "excessive aliasing",
    ),
    "deep.yaml": (lambda: "a: " + "[" * 3000 + "]" * 3000 + "\n", "nesting"),
    "indented.yaml": (
        lambda: "".join(" " * i + f"k{i}:\n" for i in range(0, 700, 1)) + " " * 700 + "v: 1\n",
        "nesting",
    ),
    "deep.json": (lambda: '{"a": ' + "[" * 10_000 + "]" * 10_000 + "}", "nesting deeper than 256 levels"),
}


@pytest.mark.parametrize("command", ["encrypt", "decrypt"])
@pytest.mark.parametrize("name", sorted(SOPS_INPUTS))
def test_sops_cli_refuses_hostile_input(
    tmp_path: Path, age_env: dict[str, str], command: str, name: str
) -> None:
    make, reason = SOPS_INPUTS[name]
    path = tmp_path / name
    path.write_text(make())
    result = run("sops", command, str(path), env=age_env)
    assert result.returncode != 0 and result.stdout == ""
    assert reason in result.stderr


def test_sops_stage_refuses_alias_bomb_file_text() -> None:
    """The render stage parses the file's own text (for the MAC): the same limits apply there."""
    from core_sync.stages import StageContext
    from sops_plugin.stage import SopsStage

    text = (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n" + billion_laughs() + "sops:\n  version: 3.9.0\n"
    )
    obj = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "sops": {"version": "3.9.0", "mac": "x", "lastmodified": "2024-01-01T00:00:00Z"},
    }
    import pyrage

    identity = str(pyrage.x25519.Identity.generate()).encode()
    context = StageContext(
        namespace="n",
        decryption={"sops": {"secretRef": {"name": "keys"}}},
        read_secret=lambda name: {"identity.agekey": identity},
        sources={id(obj): "s.yaml"},
        files={id(obj): text},
    )
    started = time.monotonic()
    result = SopsStage().render([obj], context)
    assert time.monotonic() - started < FAST_S
    assert result.errors and any("excessive aliasing" in d.message for d in result.errors)


@pytest.fixture(scope="module")
def sealing(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.sealed.conftest import make_sealing_key

    return make_sealing_key(tmp_path_factory.mktemp("seal"), "limits")


@pytest.fixture(scope="module")
def sealing_cert(sealing: Any) -> Path:
    return Path(sealing.cert_path)


SEAL_INPUTS = {
    "compact.yaml": ("kind: Secret\ndata:\n" + "- " * 300 + "x\n", "nesting deeper than 256 levels"),
    "bomb.yaml": (
        "kind: Secret\nmetadata: {name: s, namespace: n}\n" + billion_laughs(),
        "excessive aliasing",
    ),
    "deep.json": (
        '{"kind": "Secret", "data": ' + "[" * 10_000 + "]" * 10_000 + "}",
        "nesting deeper than 256 levels",
    ),
    "deep.yaml": ("kind: Secret\ndata: " + "[" * 500 + "]" * 500 + "\n", "nesting deeper than 256 levels"),
    "indented.yaml": ("".join(" " * i + f"k{i}:\n" for i in range(600)) + " " * 600 + "v: x\n", "nesting"),
}


@pytest.mark.parametrize("name", sorted(SEAL_INPUTS))
def test_seal_refuses_hostile_input(tmp_path: Path, sealing_cert: Path, name: str) -> None:
    text, reason = SEAL_INPUTS[name]
    source, out = tmp_path / name, tmp_path / "out.yaml"
    source.write_text(text)
    result = run("seal", "--cert", str(sealing_cert), "-f", str(source), "-w", str(out))
    assert result.returncode != 0 and not out.exists()
    assert result.stderr.startswith(f"error: {source}: ") and reason in result.stderr


def test_seal_stdin_deep_json(sealing_cert: Path) -> None:
    result = run("seal", "--cert", str(sealing_cert), stdin=("[" * 10_000 + "]" * 10_000).encode())
    assert result.returncode != 0 and "nesting deeper than 256 levels" in result.stderr


# -- Go templates ------------------------------------------------------------------------------------------
TEMPLATE_BOMBS = {
    "range": ("{{range 1000000000}}x{{end}}", "exceeded the limit of 1000000 steps"),
    "range-silent": ("{{range $i := 1000000000}}{{end}}", "exceeded the limit of 1000000 steps"),
    "nested-range": ("{{range 100000}}{{range 100000}}{{end}}{{end}}", "exceeded the limit of 1000000 steps"),
    "repeat": (
        '{{repeat 1000000000 "abc"}}',
        "error calling repeat: repeat would produce 3000000000 characters",
    ),
    "repeat-nested": ('{{repeat 100000 (repeat 100000 "a")}}', "over the template output limit"),
    "until": ("{{range until 1000000000}}{{end}}", "until would produce 1000000000 items"),
    "seq": ("{{seq 1000000000}}", "would produce"),
    "indent": ('{{indent 1000000000 "a"}}', "indent would produce"),
    "rand": ("{{randAlphaNum 1000000000}}", "random string would produce"),
    "output": (
        '{{range 1000}}{{repeat 2000 "x"}}{{end}}',
        "template output exceeded the limit of 1048576 characters",
    ),
    "fromJson": ("{{(fromJson .deep).x}}", "fromJson: nesting deeper than 256 levels"),
    "fromYaml": ("{{fromYaml .bomb}}", "fromYaml: excessive aliasing"),
    "jwk": ("{{jwkPublicKeyPem .deep}}", "error calling jwkPublicKeyPem: failed to parse JWK"),
}


@pytest.mark.parametrize("case", sorted(TEMPLATE_BOMBS))
def test_template_bombs_are_bounded(case: str) -> None:
    text, reason = TEMPLATE_BOMBS[case]
    data = {"deep": "[" * 5000 + "]" * 5000, "bomb": billion_laughs()}
    started = time.monotonic()
    with pytest.raises(TemplateError) as error:
        Template(text).execute(data)
    assert time.monotonic() - started < FAST_S
    assert reason in str(error.value)


def test_printf_huge_width_follows_go() -> None:
    assert Template('{{printf "%*d" 999999999 1}}').execute({}) == "%!(BADWIDTH)1"
    assert Template('{{printf "%0999999999d" 7}}').execute({}) == "7"


def test_ordinary_templates_are_untouched() -> None:
    assert (
        Template("{{range $i, $v := .}}{{$i}}={{$v | repeat 2}};{{end}}").execute(["a", "b"]) == "0=aa;1=bb;"
    )
    assert json.loads(Template("{{toJson (until 5)}}").execute({})) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("template", ["{{range 1000000000}}{{.}}{{end}}", '{{repeat 1000000000 "x"}}'])
def test_sealed_spec_template_bomb(sealing: Any, template: str) -> None:
    """The SealedSecret controller's `spec.template.data` runs on this engine: the limits hold there."""
    key = sealing
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "shop"}}
    secret["data"] = {"password": "czNjcjN0"}
    sealed = run("seal", "--cert", str(key.cert_path), stdin=json.dumps(secret).encode())
    assert sealed.returncode == 0, sealed.stderr
    obj = json.loads(sealed.stdout)
    obj["spec"]["template"]["data"] = {"bomb": template}
    args = ("seal", "--recovery-unseal", "--recovery-private-key", str(key.key_path))
    result = run(*args, stdin=json.dumps(obj).encode())
    assert result.returncode == 1 and result.stdout == ""
    assert "spec.template.data.bomb" in result.stderr and "limit" in result.stderr
    assert "s3cr3t" not in result.stderr


@pytest.mark.parametrize("size", [0, 1, 4096, 65536, 65537, 200_000])
def test_read_at_most_reads_whole_files_under_the_limit(tmp_path: Path, size: int) -> None:
    path = tmp_path / "f"
    path.write_bytes(os.urandom(size))
    with path.open("rb") as handle:
        assert limits.read_at_most(handle, 200_000) == path.read_bytes()


def test_read_at_most_stops_one_byte_past_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 300_000)
    with path.open("rb") as handle:
        assert len(limits.read_at_most(handle, 100_000)) == 100_001  # the caller sees it is over
    read, write = os.pipe()  # no size to go by: read in steps, stop one byte past the limit too
    os.write(write, b"y" * 60_000)  # within the pipe's buffer: the write does not wait for a reader
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        assert limits.read_at_most(pipe, 50_000) == b"y" * 50_001


def test_every_bounded_file_read_allocates_by_the_file_not_the_limit(tmp_path: Path) -> None:
    """``read(limit + 1)`` allocated the whole 16 MiB limit for each small file: the operator's peak RSS
    at 1,000 Applications grew with every concurrent read. The readers of source files, kubeconfigs and
    sops' edited files all go through :func:`limits.read_at_most`."""
    from core_sync.confine import read_file
    from core_sync.kube.kubeconfig import _read
    from sops_plugin.scratch import Scratch

    small = tmp_path / "cm.yaml"
    small.write_text(configmap("small", "1"))
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n")
    with Scratch("edited.yaml") as scratch:
        scratch.write(small.read_bytes())
        readers = [
            lambda: read_file(small, tmp_path),
            lambda: _read(kubeconfig),
            lambda: scratch.read(limits.MAX_FILE_BYTES),
        ]
        peaks = [_peak_allocation(reader) for reader in readers]
    assert all(peak < 1 << 20 for peak in peaks), f"bytes allocated to read files of a few hundred: {peaks}"


def _peak_allocation(call: Any) -> int:
    import tracemalloc

    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
