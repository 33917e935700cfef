"""SOPS files with age keys, byte-compatible with the sops binary, decrypted in memory.

Layout: ``format/`` is the pure layer (tree model, ENC values, MAC, metadata, the YAML/JSON/dotenv/INI/binary
stores, Shamir, age wrapping); ``api`` is the library (``decrypt_bytes``, ``decrypt_object``,
``encrypt_bytes``, ``rotate_bytes``, ``updatekeys_bytes``); ``identities`` finds age keys the way sops does;
``fallback`` hands other key types to the sops binary; ``stage`` is the ``sops`` render stage; ``cli`` holds
``lockstep sops decrypt|encrypt|rotate|updatekeys``.
"""
