"""The hostile corpus: every case by class, written deterministically into a temporary directory at test time.

Small hand-written inputs are committed under ``cases/<class>/`` (a file is a one-file case; a directory is
a case with companions). Everything large, binary, special (FIFOs, symlinks) or made from real ciphertext is
built here: ciphertexts come from the real ``kubeseal`` and ``sops`` binaries with the test's own keys and
are then corrupted, so the corpus tests what those tools really write. Bombs and huge files are never
committed; they exist only for the length of the test.

A case's names are known without building it (``plan()``), so pytest can list one test per case before
any binary runs; ``materialize()`` builds the files. Expected outcomes live in ``expect.yaml``.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).parent
HAND_WRITTEN = HERE / "cases"
MARKER = "corpus-plaintext-7d1f"  # the secret value every corpus Secret carries; never in any output


class Link(str):
    """A symlink to this target (relative or absolute) instead of a regular file."""


class Fifo:
    """A named pipe: reading it blocks until a writer appears (never, here)."""


class Directory:
    """An (empty) directory at this path, e.g. one whose name looks like a manifest."""


Content = bytes | Link | Fifo | Directory


@dataclass
class Tools:
    """What ciphertext-making cases need: the real binaries and the corpus keys (paths and recipients)."""

    kubeseal: Path
    sops: Path
    sealing_cert: Path
    age_recipient: str
    age_key_file: Path
    outside: Path  # a directory outside the corpus root holding a valid manifest
    scratch: Path

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "SEALED_SECRETS_"))}
        env.update(SOPS_DISABLE_VERSION_CHECK="1", SOPS_AGE_KEY_FILE=str(self.age_key_file))
        env["KUBECONFIG"] = "/nonexistent/kubeconfig"
        return env

    def kubeseal_seal(self, secret: dict[str, object], *flags: str) -> dict[str, object]:
        out = subprocess.run(
            [str(self.kubeseal), "--cert", str(self.sealing_cert), "--format", "json", *flags],
            input=json.dumps(secret).encode(),
            capture_output=True,
            env=self.env(),
            timeout=60,
            check=True,
        ).stdout
        return dict(json.loads(out))

    def sops_encrypt(self, plain: bytes, fmt: str, *flags: str) -> bytes:
        path = self.scratch / f"plain.{ {'dotenv': 'env'}.get(fmt, fmt) }"
        path.write_bytes(plain)
        return subprocess.run(
            [str(self.sops), "encrypt", "--age", self.age_recipient, *flags, str(path)],
            capture_output=True,
            env=self.env(),
            cwd=self.scratch,
            timeout=60,
            check=True,
        ).stdout


Builder = Callable[[Tools], dict[str, Content]]


@dataclass
class Case:
    cls: str
    name: str
    build: Builder = field(repr=False)

    @property
    def id(self) -> str:
        return f"{self.cls}/{self.name}"


def secret(name: str = "db", namespace: str | None = "corpus", **extra: object) -> dict[str, object]:
    meta: dict[str, object] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta,
        "type": "Opaque",
        "data": {"password": base64.b64encode(MARKER.encode()).decode()},
        **extra,
    }


def yaml_bytes(obj: object) -> bytes:
    import yaml

    return yaml.safe_dump(obj, sort_keys=False).encode()


SECRET_YAML = yaml_bytes(secret())
CONFIGMAP_YAML = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fine\ndata:\n  a: '1'\n"


# --- hand-written cases ----------------------------------------------------------------------------------


def _hand_written() -> Iterator[Case]:
    for class_dir in sorted(p for p in HAND_WRITTEN.iterdir() if p.is_dir()):
        for entry in sorted(class_dir.iterdir()):
            if entry.is_dir():
                files = {p.relative_to(entry).as_posix(): p for p in sorted(entry.rglob("*")) if p.is_file()}
                yield Case(
                    class_dir.name, entry.name, lambda _t, f=files: {k: v.read_bytes() for k, v in f.items()}
                )
            else:
                yield Case(class_dir.name, entry.stem, lambda _t, e=entry: {e.name: e.read_bytes()})


# --- paths, symlinks and special files -------------------------------------------------------------------


def _kustomization(**fields: object) -> bytes:
    return yaml_bytes({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", **fields})


def _paths_escape() -> Iterator[Case]:
    # The corpus root is <tmp>/corpus/<class>/<case>/ and the outside directory is <tmp>/outside/.
    up = "../../../outside"
    variants: dict[str, Builder] = {
        "resources-dotdot": lambda t: {"kustomization.yaml": _kustomization(resources=[up])},
        "resources-dotdot-file": lambda t: {
            "kustomization.yaml": _kustomization(resources=[f"{up}/cm.yaml"])
        },
        "resources-deep-dotdot": lambda t: {
            "kustomization.yaml": _kustomization(resources=["sub/../../../../outside"])
        },
        "resources-absolute": lambda t: {"kustomization.yaml": _kustomization(resources=[str(t.outside)])},
        "resources-etc-passwd": lambda t: {"kustomization.yaml": _kustomization(resources=["/etc/passwd"])},
        "components-dotdot": lambda t: {"kustomization.yaml": _kustomization(components=[up])},
        "bases-dotdot": lambda t: {"kustomization.yaml": _kustomization(bases=[up])},
        "patches-dotdot": lambda t: {
            "kustomization.yaml": _kustomization(resources=["cm.yaml"], patches=[{"path": f"{up}/cm.yaml"}]),
            "cm.yaml": CONFIGMAP_YAML,
        },
        "generator-file-dotdot": lambda t: {
            "kustomization.yaml": _kustomization(
                configMapGenerator=[{"name": "leak", "files": [f"{up}/secret.txt"]}]
            )
        },
        "secret-generator-etc": lambda t: {
            "kustomization.yaml": _kustomization(
                secretGenerator=[{"name": "leak", "files": ["/etc/hostname"]}]
            )
        },
        "generator-env-dotdot": lambda t: {
            "kustomization.yaml": _kustomization(
                configMapGenerator=[{"name": "leak", "envs": [f"{up}/secret.txt"]}]
            )
        },
        "nested-kustomization-dotdot": lambda t: {
            "kustomization.yaml": _kustomization(resources=["inner"]),
            "inner/kustomization.yaml": _kustomization(resources=["../../../../outside"]),
        },
    }
    for name, build in variants.items():
        yield Case("paths-escape", name, build)


def _symlinks() -> Iterator[Case]:
    variants: dict[str, Builder] = {
        "to-etc-passwd": lambda t: {"passwd.yaml": Link("/etc/passwd")},
        "absolute-outside": lambda t: {"cm.yaml": Link(str(t.outside / "cm.yaml"))},
        "relative-outside": lambda t: {"cm.yaml": Link("../../../outside/cm.yaml")},
        "dir-outside": lambda t: {"linked": Link("../../../outside"), "ok.yaml": CONFIGMAP_YAML},
        "loop-self": lambda t: {"loop.yaml": Link("loop.yaml")},
        "loop-pair": lambda t: {"a.yaml": Link("b.yaml"), "b.yaml": Link("a.yaml")},
        "dangling": lambda t: {"gone.yaml": Link("does-not-exist.yaml")},
        "to-dev-zero": lambda t: {"zero.yaml": Link("/dev/zero")},
        "to-proc-environ": lambda t: {"env.yaml": Link("/proc/self/environ")},
        "chain-outside": lambda t: {"a.yaml": Link("b.yaml"), "b.yaml": Link("../../../outside/cm.yaml")},
        "kustomize-resource-link": lambda t: {
            "kustomization.yaml": _kustomization(resources=["cm.yaml"]),
            "cm.yaml": Link("../../../outside/cm.yaml"),
        },
        "kustomization-file-link": lambda t: {
            "kustomization.yaml": Link("../../../outside/kustomization.yaml")
        },
        # in-place sealing must not rewrite the Secret outside through the link (the copy a writing
        # command gets keeps an absolute link pointing at the same file)
        "secret-outside-absolute": lambda t: {"s.yaml": Link(str(t.outside / "secret.yaml"))},
    }
    for name, build in variants.items():
        yield Case("symlinks", name, build)


def _special_files() -> Iterator[Case]:
    variants: dict[str, Builder] = {
        "fifo-yaml": lambda t: {"pipe.yaml": Fifo()},
        "fifo-json": lambda t: {"pipe.json": Fifo()},
        "fifo-beside-valid": lambda t: {"ok.yaml": CONFIGMAP_YAML, "z.yml": Fifo()},
        "fifo-in-subdir": lambda t: {"sub/pipe.yaml": Fifo()},
        "fifo-kustomize-resource": lambda t: {
            "kustomization.yaml": _kustomization(resources=["pipe.yaml"]),
            "pipe.yaml": Fifo(),
        },
        "directory-named-yaml": lambda t: {"dir.yaml": Directory(), "ok.yaml": CONFIGMAP_YAML},
    }
    for name, build in variants.items():
        yield Case("special-files", name, build)


# --- bombs, depth and size ---------------------------------------------------------------------------------


def _alias_bomb(levels: int, fan: int) -> bytes:
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata:", "  name: bomb", "bomb:", '  l0: &l0 ["lol"]']
    for level in range(1, levels):
        refs = ", ".join(f"*l{level - 1}" for _ in range(fan))
        lines.append(f"  l{level}: &l{level} [{refs}]")
    return ("\n".join(lines) + "\n").encode()


def _secret_alias_bomb(levels: int, fan: int) -> bytes:
    return _alias_bomb(levels, fan).replace(b"kind: ConfigMap", b"kind: Secret") + b"stringData:\n  a: b\n"


def _yaml_bombs() -> Iterator[Case]:
    variants: dict[str, Builder] = {
        "billion-laughs-9x9": lambda t: {"bomb.yaml": _alias_bomb(9, 9)},
        "billion-laughs-12x10": lambda t: {"bomb.yaml": _alias_bomb(12, 10)},
        "wide-fan-3x1000": lambda t: {"bomb.yaml": _alias_bomb(3, 1000)},
        "secret-billion-laughs": lambda t: {"bomb.yaml": _secret_alias_bomb(10, 10)},
        "merge-key-bomb": lambda t: {
            "bomb.yaml": (
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m}\nx:\n  a0: &a0 {k0: v}\n"
                + "".join(f"  a{i}: &a{i} {{<<: [*a{i - 1}, *a{i - 1}], k{i}: v}}\n" for i in range(1, 40))
            ).encode()
        },
        "deep-flow-sequence": lambda t: {
            "deep.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\nx: " + b"[" * 20000 + b"\n"
        },
        "deep-flow-mapping": lambda t: {
            "deep.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\nx: "
            + b"{a: " * 20000
            + b"\n"
        },
        "deep-block-nesting": lambda t: {
            "deep.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: d\n"
            + b"".join(b" " * i + b"k:\n" for i in range(3000))
            + b" " * 3000
            + b"v: 1\n"
        },
        "self-referencing-anchor": lambda t: {"bomb.yaml": b"a: &a [*a]\n"},
        "sops-file-bomb": lambda t: {"bomb.enc.yaml": _alias_bomb(10, 10) + b"sops:\n  version: 3.11.0\n"},
    }
    for name, build in variants.items():
        yield Case("yaml-bombs", name, build)


def _deep_json(depth: int, open_: bytes = b"[", close: bytes = b"]") -> bytes:
    return open_ * depth + close * depth


def _json_deep() -> Iterator[Case]:
    variants: dict[str, Builder] = {
        "array-10000": lambda t: {"deep.json": _deep_json(10000)},
        "array-100000": lambda t: {"deep.json": _deep_json(100000)},
        "object-10000": lambda t: {"deep.json": b'{"a":' * 10000 + b"1" + b"}" * 10000},
        "secret-data-10000": lambda t: {
            "deep.json": b'{"apiVersion":"v1","kind":"Secret","metadata":{"name":"d"},"data":'
            + _deep_json(10000)
            + b"}"
        },
        "unclosed-10000": lambda t: {"deep.json": b"[" * 10000},
        "stream-of-100000": lambda t: {"many.json": b"{}" * 100000},
    }
    for name, build in variants.items():
        yield Case("json-deep", name, build)


def _huge_values() -> Iterator[Case]:
    big = b"A" * (8 << 20)
    variants: dict[str, Builder] = {
        "configmap-8mib-value": lambda t: {
            "big.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  a: " + big + b"\n"
        },
        "secret-8mib-value": lambda t: {
            "big.yaml": b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: big\nstringData:\n  a: "
            + big
            + b"\n"
        },
        "key-1mib": lambda t: {
            "big.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  "
            + b"k" * (1 << 20)
            + b": v\n"
        },
        "100k-keys": lambda t: {
            "keys.yaml": b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: keys\nstringData:\n"
            + b"".join(b"  k%d: v\n" % i for i in range(100_000))
        },
        "20k-documents": lambda t: {
            "many.yaml": b"".join(
                b"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c%d\n" % i for i in range(20_000)
            )
        },
        "file-48mib": lambda t: {"huge.yaml": b"# " + b"x" * (48 << 20) + b"\n"},
        "line-4mib-json": lambda t: {"big.json": b'{"a": "' + big[: 4 << 20] + b'"}'},
    }
    for name, build in variants.items():
        yield Case("huge-values", name, build)


# --- SealedSecrets from the real kubeseal, then corrupted -------------------------------------------------


def _sealed(t: Tools, *flags: str, **meta: object) -> dict[str, object]:
    return t.kubeseal_seal(secret(**meta), *flags)  # type: ignore[arg-type]


def _with_ciphertext(t: Tools, mutate: Callable[[bytes], bytes]) -> dict[str, Content]:
    obj = _sealed(t)
    spec = obj["spec"]
    assert isinstance(spec, dict)
    blob = base64.b64decode(spec["encryptedData"]["password"])
    spec["encryptedData"]["password"] = base64.b64encode(mutate(blob)).decode()
    return {"sealed.json": json.dumps(obj, indent=2).encode()}


def _flip(at: int) -> Callable[[bytes], bytes]:
    def mutate(blob: bytes) -> bytes:
        index = at if at >= 0 else len(blob) + at
        return blob[:index] + bytes([blob[index] ^ 0x01]) + blob[index + 1 :]

    return mutate


def _sealed_truncated() -> Iterator[Case]:
    cuts = [
        0,
        1,
        2,
        3,
        16,
        130,
        255,
        256,
        257,
        258,
        259,
        270,
        280,
        290,
    ]  # 2-byte length, 256-byte RSA, AES-GCM
    for cut in cuts:
        yield Case(
            "sealed-truncated-ciphertext", f"cut-{cut}", lambda t, c=cut: _with_ciphertext(t, lambda b: b[:c])
        )
    yield Case(
        "sealed-truncated-ciphertext", "cut-last-byte", lambda t: _with_ciphertext(t, lambda b: b[:-1])
    )
    yield Case("sealed-truncated-ciphertext", "cut-tag", lambda t: _with_ciphertext(t, lambda b: b[:-16]))
    for at in (0, 1, 2, 100, 260, -1, -17):
        yield Case("sealed-truncated-ciphertext", f"flip-{at}", lambda t, a=at: _with_ciphertext(t, _flip(a)))
    yield Case(
        "sealed-truncated-ciphertext",
        "length-header-huge",
        lambda t: _with_ciphertext(t, lambda b: b"\xff\xff" + b[2:]),
    )
    yield Case(
        "sealed-truncated-ciphertext",
        "appended-bytes",
        lambda t: _with_ciphertext(t, lambda b: b + b"\x00" * 7),
    )

    def not_base64(t: Tools) -> dict[str, Content]:
        obj = _sealed(t)
        obj["spec"]["encryptedData"]["password"] = "!!not base64!!"  # type: ignore[index]
        return {"sealed.json": json.dumps(obj).encode()}

    def legacy_data_garbage(t: Tools) -> dict[str, Content]:
        obj = _sealed(t)
        obj["spec"] = {"data": base64.b64encode(b"\x00\x10garbage").decode()}
        return {"sealed.json": json.dumps(obj).encode()}

    yield Case("sealed-truncated-ciphertext", "not-base64", not_base64)
    yield Case("sealed-truncated-ciphertext", "legacy-data-garbage", legacy_data_garbage)


def _retarget(t: Tools, flags: tuple[str, ...], **changes: object) -> dict[str, Content]:
    obj = _sealed(t, *flags)
    meta = obj["metadata"]
    assert isinstance(meta, dict)
    annotations = dict(meta.get("annotations") or {})
    for key, value in changes.items():
        if key.startswith("annotation:"):
            annotations[key.split(":", 1)[1]] = value
        elif value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    meta["annotations"] = annotations
    return {"sealed.json": json.dumps(obj, indent=2).encode()}


def _sealed_wrong_scope() -> Iterator[Case]:
    ns_wide = "sealedsecrets.bitnami.com/namespace-wide"
    cluster_wide = "sealedsecrets.bitnami.com/cluster-wide"
    variants: dict[str, tuple[tuple[str, ...], dict[str, object]]] = {
        "strict-renamed": ((), {"name": "other"}),
        "strict-other-namespace": ((), {"namespace": "elsewhere"}),
        "strict-marked-namespace-wide": ((), {f"annotation:{ns_wide}": "true"}),
        "strict-marked-cluster-wide": ((), {f"annotation:{cluster_wide}": "true"}),
        "namespace-wide-other-namespace": (("--scope", "namespace-wide"), {"namespace": "elsewhere"}),
        "namespace-wide-marked-strict": (("--scope", "namespace-wide"), {f"annotation:{ns_wide}": "false"}),
        "cluster-wide-marked-strict": (("--scope", "cluster-wide"), {f"annotation:{cluster_wide}": "false"}),
        "strict-name-removed": ((), {"name": None}),
    }
    for name, (flags, changes) in variants.items():
        yield Case("sealed-wrong-scope", name, lambda t, f=flags, c=changes: _retarget(t, f, **c))


def _sealed_templates() -> Iterator[Case]:
    templates = {
        "unclosed-action": "{{ .password",
        "unknown-function": "{{ nosuchfunc .password }}",
        "undefined-variable": "{{ $nope }}",
        "huge-repeat": '{{ repeat 2000000000 "x" }}',
        "nested-repeat": '{{ repeat 100000 (repeat 100000 "x") }}',
        "range-huge": "{{ range $i := until 100000000 }}x{{ end }}",
        "recursive-template": '{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}',
        "fail-with-value": "{{ fail .password }}",
        "bad-b64dec": '{{ "%%%" | b64dec }}',
        "unterminated-range": "{{ range .password }}",
        "printf-width-bomb": '{{ printf "%999999999d" 1 }}',
        "index-out-of-range": "{{ index (list 1) 5 }}",
    }

    def build(t: Tools, text: str) -> dict[str, Content]:
        obj = _sealed(t)
        obj["spec"]["template"]["data"] = {"rendered": text}  # type: ignore[index]
        return {"sealed.json": json.dumps(obj, indent=2).encode()}

    for name, text in templates.items():
        yield Case("templates-bad-sealed", name, lambda t, x=text: build(t, x))


# --- SOPS files from the real sops, then corrupted ----------------------------------------------------------

_SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "db"},
    "stringData": {"password": MARKER},
}
_PLAIN = {
    "yaml": yaml_bytes(_SECRET),
    "json": json.dumps(_SECRET).encode(),
    "dotenv": b"PASSWORD=" + MARKER.encode() + b"\nUSER=admin\n",
    "ini": b"[db]\npassword = " + MARKER.encode() + b"\nuser = admin\n",
}
_EXT = {"yaml": "yaml", "json": "json", "dotenv": "env", "ini": "ini"}


def _sops_file(t: Tools, fmt: str) -> bytes:
    flags = ("--encrypted-regex", "^(data|stringData)$") if fmt in ("yaml", "json") else ()
    return t.sops_encrypt(_PLAIN[fmt], fmt, *flags)


def _enc_value(data: bytes) -> bytes:
    start = data.index(b"ENC[AES256_GCM,data:")
    return data[start : data.index(b"]", start) + 1]


def _replace_part(data: bytes, part: bytes, change: Callable[[bytes], bytes]) -> bytes:
    value = _enc_value(data)
    start = value.index(part) + len(part)
    end = value.index(b",", start)
    return data.replace(value, value[:start] + change(value[start:end]) + value[end:], 1)


def _b64_flip(text: bytes) -> bytes:
    raw = bytearray(base64.b64decode(text))
    raw[0] ^= 1
    return base64.b64encode(bytes(raw))


def _mac_value(data: bytes, fmt: str) -> bytes:
    import re

    found = re.search(rb"mac[\"']?\s*[:=]\s*\"?(ENC\[AES256_GCM[^\]]*\])", data)
    assert found, f"no sops mac in the {fmt} file"
    return found.group(1)


def _sops_tampered() -> Iterator[Case]:
    def tamper(fmt: str, how: str) -> Builder:
        def build(t: Tools) -> dict[str, Content]:
            data = _sops_file(t, fmt)
            if how == "mac-flipped":
                mac = _mac_value(data, fmt)
                data = data.replace(mac, _replace_in_enc(mac, b"data:", _b64_flip), 1)
            elif how == "value-flipped":
                data = _replace_part(data, b"data:", _b64_flip)
            elif how == "iv-flipped":
                data = _replace_part(data, b"iv:", _b64_flip)
            elif how == "tag-flipped":
                data = _replace_part(data, b"tag:", _b64_flip)
            elif how == "mac-removed":
                mac = _mac_value(data, fmt)
                data = data.replace(mac, b"", 1)
            elif how == "lastmodified-changed":
                data = _change_lastmodified(data)
            elif how == "value-swapped-type":
                data = data.replace(b"type:str]", b"type:int]", 1)
            elif how == "recipient-key-garbled":
                data = _garble_age_stanza(data)
            return {f"secret.enc.{_EXT[fmt]}": data}

        return build

    for fmt in ("yaml", "json", "dotenv", "ini"):
        for how in ("mac-flipped", "value-flipped", "iv-flipped", "tag-flipped", "mac-removed"):
            yield Case("sops-tampered-mac", f"{fmt}-{how}", tamper(fmt, how))
    for fmt in ("yaml", "json"):
        for how in ("lastmodified-changed", "value-swapped-type", "recipient-key-garbled"):
            yield Case("sops-tampered-mac", f"{fmt}-{how}", tamper(fmt, how))


def _replace_in_enc(value: bytes, part: bytes, change: Callable[[bytes], bytes]) -> bytes:
    start = value.index(part) + len(part)
    end = value.index(b",", start)
    return value[:start] + change(value[start:end]) + value[end:]


def _change_lastmodified(data: bytes) -> bytes:
    import re

    return re.sub(rb"(lastmodified[\"']?:\s*[\"']?)(\d{4})", lambda m: m.group(1) + b"1999", data, count=1)


def _garble_age_stanza(data: bytes) -> bytes:
    """Reverse 20 base64 characters of the age header (the X25519 stanza) inside the armored data key."""
    start = data.index(b"-----BEGIN AGE ENCRYPTED FILE-----") + 34 + 40
    return data[:start] + bytes(reversed(data[start : start + 20])) + data[start + 20 :]


def _sops_no_version() -> Iterator[Case]:
    import re

    patterns = {
        "yaml": rb"\n    version: [^\n]*",
        "json": rb',?\n\t\t"version": "[^"]*"',
        "dotenv": rb"\nsops_version=[^\n]*",
        "ini": rb"\nversion\s*=\s*[^\n]*",
    }
    for fmt, pattern in patterns.items():
        yield Case(
            "sops-no-version",
            fmt,
            lambda t, f=fmt, p=pattern: {f"secret.enc.{_EXT[f]}": re.sub(p, b"", _sops_file(t, f), count=1)},
        )


def _sops_config_cases() -> Iterator[Case]:
    def config(rules: object, plain: bytes = _PLAIN["yaml"], name: str = "secret.yaml") -> Builder:
        return lambda t: {
            ".sops.yaml": yaml_bytes({"creation_rules": rules}) if not isinstance(rules, bytes) else rules,
            name: plain,
        }

    bad_recipients = {
        "not-bech32": "age1notarecipient",
        "wrong-hrp": "agf1" + "q" * 58,
        "checksum-wrong": "age1" + "q" * 58,
        "ssh-key-garbage": "ssh-ed25519 AAAA",
        "empty": "",
        "comma-list-with-garbage": "{recipient},age1xyz",
        "uppercase-mixed": "AGE1QQQ" + "q" * 52,
        "nul-byte": "age1\x00",
    }
    for name, value in bad_recipients.items():
        yield Case("sops-bad-recipient", f"config-{name}", _with_recipient([{"age": value}]))
    yield Case("sops-bad-recipient", "config-list-not-string", _with_recipient([{"age": [1, 2]}]))
    bad_regexes = {
        "path-regex-unclosed": [{"path_regex": "(", "age": "{recipient}"}],
        "path-regex-bad-escape": [{"path_regex": "\\", "age": "{recipient}"}],
        "path-regex-bad-repeat": [{"path_regex": "*.yaml", "age": "{recipient}"}],
        "path-regex-not-string": [{"path_regex": ["a"], "age": "{recipient}"}],
        "encrypted-regex-unclosed": [{"encrypted_regex": "[", "age": "{recipient}"}],
        "unencrypted-regex-bad": [{"unencrypted_regex": "(?P<", "age": "{recipient}"}],
        "two-regex-kinds": [{"encrypted_regex": "a", "unencrypted_regex": "b", "age": "{recipient}"}],
        "rules-not-list": {"path_regex": ".*"},
        "rule-not-mapping": ["just a string"],
        "key-groups-garbage": [{"key_groups": "nope"}],
    }
    for name, rules in bad_regexes.items():
        yield Case("sops-config-bad-regex", name, _with_recipient(rules))
    yield Case("sops-config-bad-regex", "config-not-yaml", config(b"creation_rules: [\n"))
    yield Case("sops-config-bad-regex", "config-alias-bomb", config(_alias_bomb(10, 10)))
    yield Case("sops-config-bad-regex", "config-is-a-list", config(b"- a\n- b\n"))


def _with_recipient(rules: object) -> Builder:
    def build(t: Tools) -> dict[str, Content]:
        text = json.dumps({"creation_rules": rules}).replace("{recipient}", t.age_recipient)
        return {".sops.yaml": text.encode(), "secret.yaml": _PLAIN["yaml"]}

    return build


def _sops_empty() -> Iterator[Case]:
    variants = {
        "empty.yaml": b"",
        "empty.json": b"",
        "empty.env": b"",
        "empty.ini": b"",
        "whitespace.yaml": b"  \n\n",
        "only-separator.yaml": b"---\n",
        "only-comment.yaml": b"# nothing\n",
        "null.yaml": b"null\n",
        "empty-object.json": b"{}",
        "empty-binary.bin": b"",
    }
    for name, data in variants.items():
        yield Case("sops-empty", name.replace(".", "-"), lambda t, n=name, d=data: {n: d})


# --- CRLF and separator shapes for seal --in-place ---------------------------------------------------------


def _crlf_separators() -> Iterator[Case]:
    doc = SECRET_YAML
    variants = {
        "crlf": doc.replace(b"\n", b"\r\n"),
        "crlf-two-docs": (CONFIGMAP_YAML + b"---\n" + doc).replace(b"\n", b"\r\n"),
        "cr-only": doc.replace(b"\n", b"\r"),
        "separator-with-flow-doc": b"--- " + json.dumps(secret()).encode() + b"\n",
        "separator-with-comment": b"--- # the secret\n" + doc,
        "separator-crlf-then-lf": b"---\r\n" + doc,
        "bom-then-secret": b"\xef\xbb\xbf" + doc,
        "document-end-markers": doc + b"...\n---\n" + CONFIGMAP_YAML + b"...\n",
        "separator-no-newline-at-eof": CONFIGMAP_YAML + b"---\n" + doc.rstrip(b"\n"),
        "mixed-crlf-lf": doc.replace(b"\n", b"\r\n", 3),
        "secret-in-list": yaml_bytes({"apiVersion": "v1", "kind": "List", "items": [secret()]}),
        "json-secret-file": json.dumps(secret()).encode(),
    }
    for name, data in variants.items():
        ext = "json" if name == "json-secret-file" else "yaml"
        yield Case("crlf-separators", name, lambda t, d=data, e=ext: {f"secret.{e}": d})


# --- key backups (``keys restore``, ``keys usage --keys``, ``keys rotate --keys``) ----------------------


@functools.cache
def _backup_pair() -> tuple[str, str]:
    """A throwaway sealing key (base64 of its certificate and private key), made once per run."""
    from sealed.format.keygen import generate_key_pair

    pair = generate_key_pair(2048)
    return base64.b64encode(pair.cert_pem).decode(), base64.b64encode(pair.key_pem).decode()


def key_backup_secret(name: str, **overrides: object) -> dict[str, object]:
    crt, key = _backup_pair()
    body: dict[str, object] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {
            "name": name,
            "labels": {"sealedsecrets.bitnami.com/sealed-secrets-key": "active"},
            "creationTimestamp": "2026-01-01T00:00:00Z",
        },
        "data": {"tls.crt": crt, "tls.key": key},
    }
    body.update(overrides)
    return body


def _backup(*items: object) -> bytes:
    return yaml_bytes({"apiVersion": "v1", "kind": "List", "items": list(items)})


def _age(data: bytes, recipient: str, armor: bool = True) -> bytes:
    from sealed.keybackup import age_encrypt

    return age_encrypt(data, [recipient], armor=armor)


def _key_backups() -> Iterator[Case]:
    def data(**fields: object) -> dict[str, object]:
        crt, key = _backup_pair()
        return {"tls.crt": crt, "tls.key": key, **fields}

    def one(**overrides: object) -> Builder:
        return lambda t: {"backup.yaml": _backup(key_backup_secret("corpus-key-bad", **overrides))}

    _, key_b64 = _backup_pair()
    variants: dict[str, Builder] = {
        "truncated-list": lambda t: {"backup.yaml": _backup(key_backup_secret("corpus-key-t"))[:700]},
        "tls-key-truncated": one(data=data(**{"tls.key": key_b64[: len(key_b64) // 2]})),
        "tls-key-not-base64": one(data=data(**{"tls.key": "not base64 !!!"})),
        "tls-key-not-pem": one(data=data(**{"tls.key": base64.b64encode(b"garbage").decode()})),
        "tls-key-missing": one(data={"tls.crt": _backup_pair()[0]}),
        "tls-crt-other-key": one(data=data(**{"tls.crt": base64.b64encode(b"-----BEGIN X").decode()})),
        "tls-key-number": one(data=data(**{"tls.key": 12345})),
        "tls-key-mapping": one(data=data(**{"tls.key": {"a": "b"}})),
        "data-list": one(data=["tls.crt", "tls.key"]),
        "data-string": one(data="tls.key"),
        "metadata-string": one(metadata="corpus-key"),
        "labels-list": one(metadata={"name": "corpus-key-l", "labels": ["a"]}),
        "items-number": lambda t: {
            "backup.yaml": yaml_bytes({"apiVersion": "v1", "kind": "List", "items": 5})
        },
        "items-mapping": lambda t: {
            "backup.yaml": yaml_bytes({"apiVersion": "v1", "kind": "List", "items": {"a": 1}})
        },
        "items-strings": lambda t: {"backup.yaml": _backup("a", "b")},
        "empty-list": lambda t: {"backup.yaml": _backup()},
        "empty-file": lambda t: {"backup.yaml": b""},
        "configmap-list": lambda t: {
            "backup.yaml": _backup({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
        },
        "opaque-secret": lambda t: {"backup.yaml": _backup(secret())},
        "json-truncated": lambda t: {
            "backup.json": json.dumps({"kind": "List", "items": [key_backup_secret("k")]}).encode()[:300]
        },
        "age-armor-no-end": lambda t: {
            "backup.age": _age(_backup(key_backup_secret("corpus-key-a")), t.age_recipient)[:-40]
        },
        "age-armor-bad-base64": lambda t: {
            "backup.age": b"-----BEGIN AGE ENCRYPTED FILE-----\n!!!!\n-----END AGE ENCRYPTED FILE-----\n"
        },
        "age-armor-empty": lambda t: {
            "backup.age": b"-----BEGIN AGE ENCRYPTED FILE-----\n-----END AGE ENCRYPTED FILE-----\n"
        },
        "age-binary-truncated": lambda t: {
            "backup.age": _age(_backup(key_backup_secret("corpus-key-b")), t.age_recipient, armor=False)[:120]
        },
        "age-binary-header-only": lambda t: {"backup.age": b"age-encryption.org/v1\n"},
        "age-other-recipient": lambda t: {
            "backup.age": _age(_backup(key_backup_secret("corpus-key-c")), _stranger())
        },
        "age-body-flipped": lambda t: {
            "backup.age": _flip_last(_age(_backup(key_backup_secret("corpus-key-d")), t.age_recipient, False))
        },
        "age-of-malformed-yaml": lambda t: {"backup.age": _age(b"items: [\n  - {a: \n", t.age_recipient)},
        "age-of-bomb": lambda t: {"backup.age": _age(_alias_bomb(10, 10), t.age_recipient)},
        "age-of-deep-json": lambda t: {"backup.age": _age(_deep_json(10000), t.age_recipient)},
        "age-of-configmap": lambda t: {"backup.age": _age(CONFIGMAP_YAML, t.age_recipient)},
        "bomb": lambda t: {"backup.yaml": _alias_bomb(10, 10)},
        "deep-json": lambda t: {"backup.json": _deep_json(10000)},
        "fifo": lambda t: {"backup.yaml": Fifo()},
        "directory": lambda t: {"backup.yaml": Directory()},
        "binary-garbage": lambda t: {"backup.yaml": bytes(range(256)) * 4},
    }
    for name, build in variants.items():
        yield Case("key-backups", name, build)


def _stranger() -> str:
    """An age recipient whose identity is thrown away at once: nobody can open what is sealed to it."""
    import pyrage

    return str(pyrage.x25519.Identity.generate().to_public())


def _flip_last(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 1])


# --- SOPS files no corpus identity opens ------------------------------------------------------------------


def _sops_wrong_key() -> Iterator[Case]:
    """Real sops output for a recipient whose identity nobody holds (the repository's key was rotated, the
    sidecar mounts the wrong Secret)."""

    def build(fmt: str) -> Builder:
        def made(t: Tools) -> dict[str, Content]:
            flags = ("--encrypted-regex", "^(data|stringData)$") if fmt in ("yaml", "json") else ()
            stranger = Tools(**{**t.__dict__, "age_recipient": _stranger()})
            return {f"secret.enc.{_EXT[fmt]}": stranger.sops_encrypt(_PLAIN[fmt], fmt, *flags)}

        return made

    for fmt in ("yaml", "json", "dotenv", "ini"):
        yield Case("sops-wrong-key", fmt, build(fmt))


# --- generator configs (lockstep-ksops) and KRM ResourceLists -----------------------------------------------

GENERATOR = "generator.yaml"


def _ksops(**fields: object) -> bytes:
    return yaml_bytes({"apiVersion": "viaduct.ai/v1", "kind": "ksops", "metadata": {"name": "gen"}, **fields})


def _own(**fields: object) -> bytes:
    head = {"apiVersion": "lockstep.dev/v1alpha1", "kind": "SecretsGenerator", "metadata": {"name": "gen"}}
    return yaml_bytes({**head, **fields})


def _generator_configs() -> Iterator[Case]:
    up = "../../../outside"
    variants: dict[str, Builder] = {
        "files-dotdot": lambda t: {GENERATOR: _ksops(files=[f"{up}/secret.yaml"])},
        "files-absolute": lambda t: {GENERATOR: _ksops(files=[str(t.outside / "secret.yaml")])},
        "files-etc-passwd": lambda t: {GENERATOR: _ksops(files=["/etc/passwd"])},
        "files-proc-environ": lambda t: {GENERATOR: _ksops(files=["/proc/self/environ"])},
        "files-dev-zero": lambda t: {GENERATOR: _ksops(files=["/dev/zero"])},
        "files-missing": lambda t: {GENERATOR: _ksops(files=["./gone.enc.yaml"])},
        "files-directory": lambda t: {GENERATOR: _ksops(files=["./sub.yaml"]), "sub.yaml": Directory()},
        "files-fifo": lambda t: {GENERATOR: _ksops(files=["./pipe.enc.yaml"]), "pipe.enc.yaml": Fifo()},
        "files-link-outside": lambda t: {
            GENERATOR: _ksops(files=["./s.enc.yaml"]),
            "s.enc.yaml": Link(f"{up}/secret.yaml"),
        },
        "secretfrom-file-dotdot": lambda t: {
            GENERATOR: _ksops(secretFrom=[{"metadata": {"name": "s"}, "files": [f"leak={up}/secret.txt"]}])
        },
        "secretfrom-env-absolute": lambda t: {
            GENERATOR: _ksops(
                secretFrom=[{"metadata": {"name": "s"}, "envs": [str(t.outside / "secret.txt")]}]
            )
        },
        "secretfrom-binary-etc": lambda t: {
            GENERATOR: _ksops(secretFrom=[{"metadata": {"name": "s"}, "binaryFiles": ["/etc/hostname"]}])
        },
        "sealingkey-plain-text": lambda t: {
            GENERATOR: _own(sealedSecrets=["./s.yaml"], sealingKeys=["./key.pem"]),
            "s.yaml": SECRET_YAML,
            "key.pem": b"not a key\n",
        },
        "sealingkey-not-pem": lambda t: {
            GENERATOR: _own(sealedSecrets=["./s.yaml"], sealingKeys=["./key.pem"]),
            "s.yaml": SECRET_YAML,
            "key.pem": b"-----BEGIN RSA PRIVATE KEY-----\ngarbage\n-----END RSA PRIVATE KEY-----\n",
        },
        "sealingkey-fifo": lambda t: {
            GENERATOR: _own(sealedSecrets=["./s.yaml"], sealingKeys=["./key.pem"]),
            "s.yaml": SECRET_YAML,
            "key.pem": Fifo(),
        },
        "no-files": lambda t: {GENERATOR: _ksops()},
        "files-not-list": lambda t: {GENERATOR: _ksops(files="./secret.enc.yaml")},
        "files-number": lambda t: {GENERATOR: _ksops(files=[1])},
        "files-empty-string": lambda t: {GENERATOR: _ksops(files=[""])},
        "secretfrom-not-mapping": lambda t: {GENERATOR: _ksops(secretFrom=["s"])},
        "secretfrom-metadata-list": lambda t: {
            GENERATOR: _ksops(secretFrom=[{"metadata": ["s"], "files": ["a"]}])
        },
        "secretfrom-two-equals": lambda t: {
            GENERATOR: _ksops(secretFrom=[{"metadata": {"name": "s"}, "files": ["a=b=c"]}])
        },
        "secretfrom-type-number": lambda t: {
            GENERATOR: _ksops(secretFrom=[{"metadata": {"name": "s"}, "type": 5, "files": ["a"]}])
        },
        "wrong-apiversion": lambda t: {GENERATOR: _ksops(files=["a"]).replace(b"viaduct.ai/v1", b"v1")},
        "config-alias-bomb": lambda t: {
            GENERATOR: _alias_bomb(10, 10).replace(
                b"apiVersion: v1\nkind: ConfigMap", b"apiVersion: viaduct.ai/v1\nkind: ksops"
            )
            + b"files: [./a.enc.yaml]\n"
        },
        "config-deep-nesting": lambda t: {
            GENERATOR: b"apiVersion: viaduct.ai/v1\nkind: ksops\nfiles: [./a.enc.yaml]\nx: "
            + b"[" * 20000
            + b"\n"
        },
        "config-not-yaml": lambda t: {GENERATOR: b"apiVersion: viaduct.ai/v1\nkind: ksops\nfiles: [\n"},
        "config-bad-utf8": lambda t: {
            GENERATOR: b"apiVersion: viaduct.ai/v1\nkind: ksops\nfiles: [./\xff\xfe.yaml]\n"
        },
        "config-duplicate-key": lambda t: {
            GENERATOR: b"apiVersion: viaduct.ai/v1\nkind: ksops\nfiles: [./a.enc.yaml]\n"
            + b"files: [/etc/passwd]\n"
        },
    }
    for name, build in variants.items():
        yield Case("generator-configs", name, build)


def _resource_list(body: bytes) -> dict[str, Content]:
    return {"resource-list.yaml": body}


def _krm_resource_lists() -> Iterator[Case]:
    head = b"apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n"
    variants: dict[str, Builder] = {
        "empty": lambda t: _resource_list(b""),
        "not-a-resource-list": lambda t: _resource_list(CONFIGMAP_YAML),
        "scalar": lambda t: _resource_list(b"just text\n"),
        "items-string": lambda t: _resource_list(head + b"items: nope\n"),
        "items-scalars": lambda t: _resource_list(head + b"items: [1, 2]\n"),
        "function-config-list": lambda t: _resource_list(head + b"items: []\nfunctionConfig: [a]\n"),
        "no-generator": lambda t: _resource_list(head + b"items: []\nfunctionConfig: {kind: ConfigMap}\n"),
        "alias-bomb": lambda t: _resource_list(
            head + _alias_bomb(10, 10).replace(b"apiVersion: v1\nkind: ConfigMap\n", b"")
        ),
        "deep-nesting": lambda t: _resource_list(head + b"items: " + b"[" * 20000 + b"\n"),
        "bad-utf8": lambda t: _resource_list(head + b"items: [{kind: \xff}]\n"),
        "nul-byte": lambda t: _resource_list(head + b"items: []\x00\n"),
        "over-the-limit": lambda t: _resource_list(head + b"# " + b"x" * (48 << 20) + b"\n"),
        "two-documents": lambda t: _resource_list(head + b"items: []\n---\n" + head + b"items: []\n"),
        "malformed": lambda t: _resource_list(head + b"items: [\n"),
    }
    for name, build in variants.items():
        yield Case("krm-resource-lists", name, build)


# --- the plan -------------------------------------------------------------------------------------------


def plan() -> list[Case]:
    """Every case, in a fixed order, without building any of them."""
    families = (
        _hand_written,
        _paths_escape,
        _symlinks,
        _special_files,
        _yaml_bombs,
        _json_deep,
        _huge_values,
        _sealed_truncated,
        _sealed_wrong_scope,
        _sealed_templates,
        _sops_tampered,
        _sops_no_version,
        _sops_config_cases,
        _sops_empty,
        _crlf_separators,
        _key_backups,
        _sops_wrong_key,
        _generator_configs,
        _krm_resource_lists,
    )
    cases = [case for family in families for case in family()]
    ids = [c.id for c in cases]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicated, f"corpus case ids must be unique: {duplicated}"
    return cases


def write_outside(outside: Path) -> None:
    """The directory paths-escape and symlink cases reach for: a manifest and a 'host secret'."""
    outside.mkdir(parents=True, exist_ok=True)
    (outside / "cm.yaml").write_bytes(b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: outside\n")
    (outside / "secret.txt").write_text(f"LEAKED={MARKER}\n")
    (outside / "secret.yaml").write_bytes(SECRET_YAML)
    (outside / "kustomization.yaml").write_bytes(_kustomization(resources=["cm.yaml"]))


def materialize(root: Path, tools: Tools, cases: list[Case]) -> dict[str, Path]:
    """Write every case under ``root/<class>/<name>/``; returns case id → its directory."""
    out: dict[str, Path] = {}
    for case in cases:
        directory = root / case.cls / case.name
        directory.mkdir(parents=True, exist_ok=True)
        for rel, content in case.build(tools).items():
            path = directory / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Link):
                path.symlink_to(str(content))
            elif isinstance(content, Fifo):
                os.mkfifo(path)
            elif isinstance(content, Directory):
                path.mkdir()
            else:
                path.write_bytes(content)
        out[case.id] = directory
    return out
