"""Kubeconfig loading as kubectl does it, without a cluster: merging, paths, impersonation, and the class
of malformed kubeconfigs, each one clear error naming the file and the field from every command."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from core_sync.cli import main as lockstep
from core_sync.kube import KubeConfig, KubeConfigError
from core_sync.testing.certs import CertificateAuthority

CA = CertificateAuthority("test-ca")
V1 = "client.authentication.k8s.io/v1"
LEAF = CA.issue("user")


def b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def kubeconfig(
    *,
    cluster: dict[str, Any] | None = None,
    user: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
    name: str = "main",
    current: str | None = "main",
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster or {"server": "https://127.0.0.1:6443"}}],
        "users": [{"name": name, "user": user or {"token": "t"}}],
        "contexts": [{"name": name, "context": context or {"cluster": name, "user": name}}],
    }
    if current is not None:
        doc["current-context"] = current
    return doc


def write(path: Path, doc: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc))
    return path


# -- merging, as kubectl merges ----------------------------------------------------------------------------
def test_kubeconfig_files_merge_first_wins_and_current_context_from_first_that_sets_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = kubeconfig(cluster={"server": "https://127.0.0.1:1111"}, current=None)
    other = {"cluster": "main", "user": "main", "namespace": "o"}
    first["contexts"].append({"name": "other", "context": other})
    second = kubeconfig(
        cluster={"server": "https://127.0.0.1:2222"}, user={"token": "second"}, current="other"
    )
    second["clusters"].append({"name": "extra", "cluster": {"server": "https://127.0.0.1:3333"}})
    second["contexts"].append({"name": "extra", "context": {"cluster": "extra", "user": "main"}})
    third = kubeconfig(current="main")
    paths = [
        write(tmp_path / "a" / "config", first),
        tmp_path / "missing",
        write(tmp_path / "empty", ""),
        write(tmp_path / "b" / "config", second),
        write(tmp_path / "c" / "config", third),
    ]
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join(map(str, paths)))

    config = KubeConfig.load()
    assert config.server == "https://127.0.0.1:1111"  # cluster "main" from the first file
    assert config.namespace == "o"  # current-context "other": the first file that sets one (the second)
    assert config.token == "t"  # user "main" from the first file, not the second's
    assert KubeConfig.load(context="extra").server == "https://127.0.0.1:3333"  # only the second has it


def test_relative_paths_resolve_against_the_file_that_names_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "clusters").mkdir()
    (tmp_path / "clusters" / "ca.crt").write_bytes(CA.cert_pem)
    (tmp_path / "users" / "keys").mkdir(parents=True)
    (tmp_path / "users" / "keys" / "tls.crt").write_bytes(LEAF.cert_pem)
    (tmp_path / "users" / "keys" / "tls.key").write_bytes(LEAF.key_pem)
    (tmp_path / "users" / "keys" / "token").write_text("from-file\n")
    clusters = kubeconfig(cluster={"server": "https://127.0.0.1:1", "certificate-authority": "ca.crt"})
    del clusters["users"]
    users: dict[str, Any] = {
        "users": [
            {
                "name": "main",
                "user": {
                    "client-certificate": "keys/tls.crt",
                    "client-key": "keys/tls.key",
                    "tokenFile": "keys/token",
                },
            }
        ]
    }
    paths = [write(tmp_path / "clusters" / "config", clusters), write(tmp_path / "users" / "config", users)]
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join(map(str, paths)))
    monkeypatch.chdir(tmp_path)

    config = KubeConfig.load()
    assert config.ca_pem == CA.cert_pem
    assert config.client_cert_pem == LEAF.cert_pem
    assert config.auth_header() == {"Authorization": "Bearer from-file"}


def test_impersonation_headers_repeat_groups(tmp_path: Path) -> None:
    user = {
        "token": "t",
        "as": "jane",
        "as-groups": ["devs", "ops"],
        "as-uid": "42",
        "as-user-extra": {"scopes": ["view", "edit/all"]},
    }
    config = KubeConfig.load(write(tmp_path / "config", kubeconfig(user=user)))
    assert config.headers(config.credentials()) == [
        ("Authorization", "Bearer t"),
        ("Impersonate-User", "jane"),
        ("Impersonate-Group", "devs"),
        ("Impersonate-Group", "ops"),
        ("Impersonate-Uid", "42"),
        ("Impersonate-Extra-scopes", "view"),
        ("Impersonate-Extra-scopes", "edit%2Fall"),
    ]


def test_context_settings_reach_the_config(tmp_path: Path) -> None:
    cluster = {
        "server": "https://127.0.0.1:6443/prefix/",
        "tls-server-name": "kubernetes.default",
        "proxy-url": "http://127.0.0.1:3128",
        "insecure-skip-tls-verify": True,
    }
    context = {"cluster": "main", "user": "main", "namespace": "team-a"}
    user = {"username": "u", "password": "p"}
    doc = kubeconfig(cluster=cluster, context=context, user=user)
    config = KubeConfig.load(write(tmp_path / "config", doc))
    assert (config.server, config.namespace) == ("https://127.0.0.1:6443/prefix", "team-a")
    assert (config.tls_server_name, config.proxy_url, config.insecure) == (
        "kubernetes.default",
        "http://127.0.0.1:3128",
        True,
    )
    assert config.auth_header() == {"Authorization": "Basic " + b64("u:p")}


# -- the class of malformed kubeconfigs --------------------------------------------------------------------
def _bad_pem_user() -> dict[str, Any]:
    return {"client-certificate-data": b64("not a pem"), "client-key-data": b64(LEAF.key_pem)}


MALFORMED: dict[str, tuple[Any, str]] = {
    "empty": ("", "the kubeconfig is empty"),
    "not-yaml": ("clusters: [\n  - {name: x\n", "not valid YAML"),
    "not-a-mapping": ("- just\n- a list\n", "must be a mapping"),
    "clusters-not-a-list": ({**kubeconfig(), "clusters": {"main": {}}}, "clusters: must be a list"),
    "nameless-user": ({**kubeconfig(), "users": [{"user": {}}]}, "users[0]: must be a mapping with a name"),
    "no-current-context": (kubeconfig(current=None), "no current-context is set"),
    "current-context-missing": (kubeconfig(current="gone"), "context 'gone' not found"),
    "missing-cluster": (
        kubeconfig(context={"cluster": "gone", "user": "main"}),
        "contexts[main].context.cluster: cluster 'gone' is not defined",
    ),
    "missing-user": (
        kubeconfig(context={"cluster": "main", "user": "gone"}),
        "contexts[main].context.user: user 'gone' is not defined",
    ),
    "no-server": (
        kubeconfig(cluster={"insecure-skip-tls-verify": True}),
        "clusters[main].cluster.server: not set",
    ),
    "server-not-url": (kubeconfig(cluster={"server": "127.0.0.1:6443"}), "clusters[main].cluster.server"),
    "bad-base64-ca": (
        kubeconfig(cluster={"server": "https://127.0.0.1:1", "certificate-authority-data": "%%%"}),
        "clusters[main].cluster.certificate-authority-data: not valid base64",
    ),
    "bad-base64-key": (
        kubeconfig(user={"client-certificate-data": b64(LEAF.cert_pem), "client-key-data": "!!"}),
        "users[main].user.client-key-data: not valid base64",
    ),
    "ca-not-pem": (
        kubeconfig(cluster={"server": "https://127.0.0.1:1", "certificate-authority-data": b64("junk")}),
        "clusters[main].cluster.certificate-authority(-data): not a PEM CA certificate",
    ),
    "cert-not-pem": (kubeconfig(user=_bad_pem_user()), "users[main].user.client-certificate(-data)"),
    "key-without-cert": (
        kubeconfig(user={"client-key-data": b64(LEAF.key_pem)}),
        "needs both certificate and key",
    ),
    "unreadable-ca-file": (
        kubeconfig(cluster={"server": "https://127.0.0.1:1", "certificate-authority": "nope/ca.crt"}),
        "clusters[main].cluster.certificate-authority: cannot read",
    ),
    "insecure-not-bool": (
        kubeconfig(cluster={"server": "https://127.0.0.1:1", "insecure-skip-tls-verify": "yes please"}),
        "insecure-skip-tls-verify: must be true or false",
    ),
    "socks-proxy": (
        kubeconfig(cluster={"server": "https://127.0.0.1:1", "proxy-url": "socks5://127.0.0.1:1080"}),
        "clusters[main].cluster.proxy-url",
    ),
    "exec-no-command": (
        kubeconfig(user={"exec": {"apiVersion": V1, "interactiveMode": "Never"}}),
        "users[main].user.exec.command: must be a non-empty string",
    ),
    "exec-old-api": (
        kubeconfig(user={"exec": {"apiVersion": "client.authentication.k8s.io/v1alpha1", "command": "x"}}),
        "users[main].user.exec.apiVersion",
    ),
    "exec-v1-without-interactive-mode": (
        kubeconfig(user={"exec": {"apiVersion": V1, "command": "x"}}),
        "users[main].user.exec.interactiveMode",
    ),
    "groups-without-as": (kubeconfig(user={"token": "t", "as-groups": ["g"]}), "users[main].user.as"),
    "alias-bomb": (
        "a: &a [x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"{chr(i + 1)}: &{chr(i + 1)} [{', '.join(['*' + chr(i)] * 9)}]\n" for i in range(97, 110)),
        "excessive aliasing",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_kubeconfig_is_one_error_naming_file_and_field(case: str, tmp_path: Path) -> None:
    doc, expected = MALFORMED[case]
    path = write(tmp_path / f"{case}.yaml", doc)
    with pytest.raises(KubeConfigError) as caught:
        KubeConfig.load(path).credentials()
    assert str(path) in str(caught.value)
    assert expected in str(caught.value)


def test_errors_never_quote_the_kubeconfig(tmp_path: Path) -> None:
    """A parse error says what and where, not the line (PyYAML would quote it, token and all): errors of
    Secret-held kubeconfigs end up in Application status."""
    broken = {
        "token": "apiVersion: v1\nusers:\n- name: u\n  user: {token: s3cr3t-value\n",
        "indent": "users:\n- name: u\n  user: {token: s3cr3t-value}\n bad: [s3cr3t-value\n",
        "proxy": yaml.safe_dump(
            kubeconfig(cluster={"server": "https://h:1", "proxy-url": "socks5://u:s3cr3t-value@h:1"})
        ),
    }
    for case, text in broken.items():
        with pytest.raises(KubeConfigError) as caught:
            KubeConfig.load(write(tmp_path / case, text))
        assert "s3cr3t" not in str(caught.value), case
        assert str(tmp_path / case) in str(caught.value)
    with pytest.raises(KubeConfigError, match="at line 5, column 1"):
        KubeConfig.load(tmp_path / "token")


def test_unreadable_kubeconfig_file(tmp_path: Path) -> None:
    path = write(tmp_path / "config", kubeconfig())
    path.chmod(0)
    if os.access(path, os.R_OK):  # root reads anything: make it a directory instead
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)
        path.unlink()
        path.mkdir()
    with pytest.raises(KubeConfigError, match=f"{path}: cannot read kubeconfig"):
        KubeConfig.load(path)


COMMANDS = {
    "diff": lambda kc, d: ["diff", "--kubeconfig", kc, str(d)],
    "sync": lambda kc, d: ["sync", "--kubeconfig", kc, "--repo", str(d), "--once"],
    "render": lambda kc, d: ["render", "--kubeconfig", kc, str(d)],
    "seal --fetch-cert": lambda kc, d: ["seal", "--fetch-cert", "--kubeconfig", kc],
    "operator": lambda kc, d: ["operator", "--kubeconfig", kc, "--http", "127.0.0.1:0"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_says_which_file_and_field_is_malformed(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every case of the class through every command that loads a kubeconfig: exit 2 (1 for seal, as
    kubeseal), the file and reason on stderr, no traceback, nothing on stdout."""
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    for case, (doc, expected) in sorted(MALFORMED.items()):
        path = write(tmp_path / f"{case}.yaml", doc)
        code = lockstep(COMMANDS[command](str(path), tmp_path / "repo"))
        out, err = capsys.readouterr()
        assert code in (1, 2), (case, code, err)
        assert str(path) in err and expected in err, (case, err)
        assert "Traceback" not in err and out == "", (case, out)


# -- fuzzing: whatever the document, a KubeConfig or one KubeConfigError ----------------------------------
JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12) | st.just("main"),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
FIELDS = st.sampled_from(
    [
        ("clusters", 0, "cluster", "server"),
        ("clusters", 0, "cluster", "certificate-authority-data"),
        ("clusters", 0, "cluster", "insecure-skip-tls-verify"),
        ("clusters", 0, "cluster", "proxy-url"),
        ("clusters", 0, "cluster", "tls-server-name"),
        ("clusters", 0, "cluster", None),
        ("clusters", 0, None, None),
        ("users", 0, "user", "token"),
        ("users", 0, "user", "client-key-data"),
        ("users", 0, "user", "as-groups"),
        ("users", 0, "user", "as-user-extra"),
        ("users", 0, "user", "exec"),
        ("users", 0, "user", "auth-provider"),
        ("users", 0, "user", None),
        ("contexts", 0, "context", "cluster"),
        ("contexts", 0, "context", "user"),
        ("contexts", 0, "context", "namespace"),
        ("contexts", 0, None, None),
        ("current-context", None, None, None),
        ("users", None, None, None),
    ]
)


def _mutate(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    section, index, body, key = path
    if index is None:
        doc[section] = value
    elif body is None:
        doc[section][index] = value
    elif key is None:
        doc[section][index][body] = value
    else:
        doc[section][index][body][key] = value
    return doc


@settings(max_examples=int(os.environ.get("LOCKSTEP_PROPERTY_EXAMPLES", "100")), deadline=None)
@given(mutations=st.lists(st.tuples(FIELDS, JUNK), min_size=1, max_size=4))
def test_fuzzed_kubeconfigs_load_or_fail_with_one_error(mutations: list[tuple[Any, Any]]) -> None:
    doc = kubeconfig(
        user={"client-certificate-data": b64(LEAF.cert_pem), "client-key-data": b64(LEAF.key_pem)}
    )
    for path, value in mutations:
        try:
            doc = _mutate(doc, path, value)
        except (TypeError, KeyError, IndexError):
            break  # an earlier mutation replaced the container: keep what we have
    try:
        # no exec (it would run the command), no files (random paths): everything else is parsed
        KubeConfig.from_dict(doc, source="fuzz", allow_exec=False, allow_files=False).credentials()
    except KubeConfigError as error:
        assert str(error).startswith("fuzz")


@settings(max_examples=int(os.environ.get("LOCKSTEP_PROPERTY_EXAMPLES", "100")), deadline=None)
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_fuzzed_bytes_parse_or_fail_with_one_error(raw: bytes) -> None:
    from core_sync.kube.kubeconfig import parse_document

    try:
        doc = parse_document(raw, "fuzz")
        KubeConfig.from_dict(doc, source="fuzz", allow_exec=False, allow_files=False)
    except KubeConfigError as error:
        assert str(error).startswith("fuzz")


@settings(max_examples=int(os.environ.get("LOCKSTEP_PROPERTY_EXAMPLES", "100")), deadline=None)
@given(
    section=st.dictionaries(
        st.sampled_from(
            ["apiVersion", "command", "args", "env", "interactiveMode", "installHint", "provideClusterInfo"]
        ),
        JUNK | st.just(V1),
        max_size=7,
    )
)
def test_fuzzed_exec_sections_parse_or_fail_with_one_error(section: dict[str, Any]) -> None:
    from core_sync.kube.credentials import CredentialError
    from core_sync.kube.exec_plugin import ExecSpec

    try:
        ExecSpec.parse(section, "exec", None)
    except CredentialError as error:
        assert str(error).startswith("exec")
