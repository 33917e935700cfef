"""The peers the Go-compatibility tests compare against: kubeseal (go-yaml v2 output) comes with the sealed
tests' fixtures; the Go toolchain and sops are found by the tests themselves."""

from tests.sealed.conftest import keys_dir, kubeseal_bin, sealing_key

__all__ = ["keys_dir", "kubeseal_bin", "sealing_key"]
