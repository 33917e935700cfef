"""The pure SOPS format layer: tree model, value cipher, MAC, metadata, stores. No I/O here."""
