"""The engine's CLI commands: ``lockstep render``, ``lockstep diff``, ``lockstep sync``."""
