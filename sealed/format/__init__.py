"""The pure SealedSecret format layer: crypto, scopes, certificates, conversion and serialisation.

Nothing here reads files, talks to a network or looks at the environment: callers hand in bytes and
objects and get bytes and objects back, which is what lets the CLI, the stage and the controller share it.
Modules are imported one by one (no re-exports here) so a command only pays for what it uses.
"""
