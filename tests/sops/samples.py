"""Plaintext samples per format, with keys every crypt rule can act on."""

from __future__ import annotations

import os

YAML = b"""# sops:plain top comment
apiVersion: v1
kind: Secret
metadata:
  name: demo
  namespace: ns
data:
  password: hunter2
  token_unencrypted: visible
  api_enc: secret
stringData:
  # sops:enc
  note: hello world
  count: 3
  ratio: 1.5
  big: 1e20
  flag: true
  word: "yes"
  when: 2024-01-02T03:04:05Z
  list: [a, 1, {k: v}]
  multi: |
    line1
    line2
  empty: ""
  nothing: null
"""

JSON = b"""{
  "apiVersion": "v1",
  "kind": "Secret",
  "metadata": {"name": "demo", "annotations": {"a<b": "x&y"}},
  "data": {"password": "hunter2", "token_unencrypted": "visible", "api_enc": "secret"},
  "stringData": {"count": 3, "ratio": 1.5, "flag": false, "list": ["a", 1, {"k": "v"}, []],
                 "empty": "", "nothing": null, "obj": {}}
}
"""

DOTENV = b"""#sops:plain comment
password=hunter2
token_unencrypted=visible
api_enc=secret
#sops:enc
data=multi\\nline
kind=x=y
"""

INI = b"""top_unencrypted = outside any section
password = in the default section

; sops:plain section comment
[metadata]
name = demo
token_unencrypted = visible

[data]
password = hunter2
; sops:enc
api_enc = secret
"""

BINARY = os.urandom(200) + b"\n\x00tail"

SAMPLES = {
    "yaml": (YAML, "yaml"),
    "json": (JSON, "json"),
    "dotenv": (DOTENV, "env"),
    "ini": (INI, "ini"),
    "binary": (BINARY, "bin"),
}

RULES: dict[str, dict[str, object]] = {
    "default": {},
    "unencrypted_suffix": {"unencrypted_suffix": "_unencrypted"},
    "encrypted_suffix": {"encrypted_suffix": "_enc"},
    "unencrypted_regex": {"unencrypted_regex": "^(metadata|kind|apiVersion|name)$"},
    "encrypted_regex": {"encrypted_regex": "^(data|stringData|password)$"},
    "unencrypted_comment_regex": {"unencrypted_comment_regex": "sops:plain"},
    "encrypted_comment_regex": {"encrypted_comment_regex": "sops:enc"},
    "mac_only_encrypted": {"encrypted_regex": "^(data|stringData|password)$", "mac_only_encrypted": True},
}
# sops' INI and JSON stores drop or move comments, so comment rules are exercised on YAML and dotenv.
COMMENT_FORMATS = {"yaml", "dotenv"}
