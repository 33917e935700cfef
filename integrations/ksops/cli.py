"""The ``lockstep-ksops`` console script, with KSOPS's argument conventions.

* no argument: KRM exec function (``kustomize build --enable-alpha-plugins --enable-exec``): a
  ResourceList on stdin, a ResourceList on stdout (stdin must not be a terminal);
* one argument: legacy exec generator (``$KUSTOMIZE_PLUGIN_HOME/viaduct.ai/v1/ksops/ksops``, as kustomize
  runs it: the path of a file holding the generator config); the generated objects on stdout;
* anything else: the usage on stderr, exit 1.

Diagnostics go to stderr (and, for KRM, into ``results``); on any failure the exit code is 1 and no
generated object is printed. Plaintext is printed only to stdout, for kustomize: never to a file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

USAGE = """\
lockstep-ksops: a kustomize plugin for SOPS-encrypted files and SealedSecrets, reading KSOPS's generator
configs (apiVersion viaduct.ai/v1, kind ksops) unchanged, and Lockstep's own (lockstep.dev/v1alpha1,
kind SecretsGenerator: also sealedSecrets and sealingKeys).

kustomize usage:
  kustomize build --enable-alpha-plugins --enable-exec DIR
      KRM: the generator's config.kubernetes.io/function annotation names `exec: {path: lockstep-ksops}`
  kubectl kustomize --enable-alpha-plugins DIR
      legacy: lockstep-ksops linked as $KUSTOMIZE_PLUGIN_HOME/viaduct.ai/v1/ksops/ksops

standalone usage:
  lockstep-ksops secret-generator.yaml          (legacy)
  lockstep-ksops < resource-list.yaml           (KRM)

age identities: SOPS_AGE_KEY_FILE, SOPS_AGE_KEY, SOPS_AGE_KEY_CMD or ~/.config/sops/age/keys.txt, as sops.
"""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1 or (args and args[0] in ("-h", "--help", "help")):
        sys.stderr.write(USAGE)
        return 1
    if not args:
        if sys.stdin.isatty():
            sys.stderr.write(USAGE)
            return 1
        return _krm()
    return _legacy(Path(args[0]))


def _error(message: str) -> None:
    from core_sync.redaction import one_line

    sys.stderr.write(f"lockstep-ksops: error: {one_line(message)}\n")


def _generator() -> Any:
    from integrations.ksops.generate import Generator

    return Generator(Path.cwd(), dict(os.environ))


def _run(generator: Any, doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    from integrations.ksops.config import parse

    config = parse(doc)
    objects: list[dict[str, Any]] = generator.run(config)
    return objects


def _legacy(config_path: Path) -> int:
    from core_sync.build import UniqueKeyLoader
    from core_sync.commands.common import InputError, dump_yaml_stream, read_manifests

    try:  # a key set twice (two `files:`) is refused, never one of the two silently used
        docs = [d for d in read_manifests(config_path, UniqueKeyLoader) if d is not None]
        if len(docs) != 1:
            raise ValueError(f"{config_path}: expected one generator config, found {len(docs)} documents")
        generator = _generator()
        text = dump_yaml_stream(_run(generator, docs[0]))
    except (InputError, ValueError) as problem:
        _error(f"unable to generate manifests: {problem}")
        return 1
    except Exception as problem:  # never a traceback: it could carry plaintext
        _error(f"unable to generate manifests: internal error ({type(problem).__name__})")
        return 1
    sys.stdout.write(text)
    return 0


def _krm() -> int:
    import yaml

    from core_sync.build import UniqueKeyLoader
    from gocompat.limits import MAX_FILE_BYTES, LimitExceeded, safe_load
    from integrations.ksops.krm import ResourceListError, check_resource_list, process

    data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
    try:
        if len(data) > MAX_FILE_BYTES:
            raise ResourceListError(f"stdin is over the limit of {MAX_FILE_BYTES} bytes")
        resource_list = check_resource_list(safe_load(data.decode("utf-8"), UniqueKeyLoader))
    except (ResourceListError, LimitExceeded, yaml.YAMLError, UnicodeDecodeError, ValueError) as problem:
        _error(
            f"unable to read the ResourceList: {str(problem).splitlines()[0] if str(problem) else problem}"
        )
        return 1
    generator = _generator()
    try:
        output, ok = process(resource_list, lambda doc: _run(generator, doc))
    except Exception as problem:  # never a traceback: it could carry plaintext
        _error(f"unable to generate manifests: internal error ({type(problem).__name__})")
        return 1
    for entry in output.get("results") or []:
        _error(f"unable to generate manifests: {entry['message']}")
    sys.stdout.write(yaml.safe_dump(output, sort_keys=False, default_flow_style=False))
    return 0 if ok else 1
