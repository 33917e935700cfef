"""The embedded default: a local control plane, OpenBao and moto for trying Lockstep on one machine."""
