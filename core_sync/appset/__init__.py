"""ApplicationSet: Applications generated from parameter sets (Argo CD's generators and ``{{param}}``)."""
