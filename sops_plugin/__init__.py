"""SOPS files with age keys, byte-compatible with the sops binary, decrypted in memory."""
