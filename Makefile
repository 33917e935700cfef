# Two commands set up everything on a fresh machine: `make test` and `make demo`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: venv binaries system-deps test test-image image lint demo clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dev]'
	touch $@

venv: $(VENV)/.installed

# kube-apiserver, etcd, kubeseal and helm from the Go module proxy, cached in ~/.cache/lockstep (a no-op when built).
binaries:
	scripts/build-control-plane

# Debian's sshd for the SSH git-source tests (the harness runs its own sshd on loopback, never the system one).
system-deps:
	@command -v /usr/sbin/sshd >/dev/null 2>&1 || { \
	  echo "installing openssh-server (sshd for the SSH git-source tests)"; \
	  (apt-get install -y -q openssh-server || (apt-get update -q && apt-get install -y -q openssh-server)) \
	    >/dev/null || { echo "ERROR: could not install openssh-server: install it (apt-get install openssh-server) and re-run"; exit 1; }; }

test: venv binaries system-deps
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# The operator image localhost/lockstep:<version>: buildah + a debootstrapped Debian, no Docker, no registry.
image: venv binaries
	scripts/build-image

# The tests that run the image (left out of `make test`: the image takes minutes to build).
test-image: image binaries
	$(VENV)/bin/pytest -m image tests/image $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# Builds what is missing, then `lockstep demo` (starts the embedded environment, syncs examples/demo/).
demo: venv binaries
	$(VENV)/bin/lockstep demo

clean:
	-$(VENV)/bin/lockstep dev down
	rm -rf $(VENV) *.egg-info
