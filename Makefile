# nbsync.proxmox: one Python 3.12 virtual environment, the lab, and every test.
# `make demo` and `make test` are the only set-up a new user needs.

SHELL := /bin/bash
.DEFAULT_GOAL := help

ROOT        := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
VENV        := $(ROOT)/.venv
PY          := $(VENV)/bin/python
BUILD       := $(ROOT)/.build
COLLECTIONS := $(BUILD)/collections
COLL_LINK   := $(COLLECTIONS)/ansible_collections/nbsync/proxmox
# The first Python 3.12 that really runs (a pyenv shim on PATH may exist and still refuse to run).
PYTHON312   ?= $(shell for p in $$(ls -d $$HOME/.pyenv/versions/3.12.*/bin/python3.12 2>/dev/null | sort -rV) \
                  $$(command -v python3.12 2>/dev/null) /usr/local/bin/python3.12 /usr/bin/python3.12; do \
                  [ -x "$$p" ] && "$$p" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null \
                  && { echo "$$p"; break; }; done)

export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH := false
export PYTHONPATH := $(COLLECTIONS)
export NBSYNC_PYTHON := $(PY)
export ANSIBLE_PYTHON_INTERPRETER := $(PY)

.PHONY: help venv collection lab-up lab-down lab-status lint sanity unit integration molecule test demo bench build galaxy-import clean

help:
	@echo "make demo        bring the lab up and run the demo playbook against it"
	@echo "make test        ruff, ansible-lint, ansible-test sanity, galaxy-importer, molecule, unit and integration tests"
	@echo "make lab-up | lab-status | lab-down    the test lab (NetBox, fakepve, PBS fake, bind9)"
	@echo "make build       the collection tarball;  make galaxy-import  checks it with galaxy-importer"
	@echo "make bench       the 1,000-VM no-change benchmark against the minimum reads and the peer collections"

$(VENV)/.stamp: requirements.txt requirements-test.txt
	@if [ -z "$(PYTHON312)" ]; then \
	  echo "ERROR: Python 3.12 not found. Install it (pyenv install 3.12, or uv python install 3.12; Debian 12 ships only 3.11; Debian 13 and Ubuntu 24.04: apt-get install python3.12)" \
	       "or run: make PYTHON312=/path/to/python3.12 ..." >&2; exit 1; fi
	@test -x $(PY) || $(PYTHON312) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-test.txt
	# Only the PBS API data file of proximo-proxmox is read (tests/lab/pbs: the fake's routes checked against
	# the PBS API viewer's schema); its own dependencies (an MCP server) are not needed.
	$(PY) -m pip install -q --disable-pip-version-check --no-deps 'proximo-proxmox==0.49.1'
	@touch $@

venv: $(VENV)/.stamp

# ansible and pytest import the collection as ansible_collections.nbsync.proxmox: a link to this tree.
$(COLL_LINK):
	@mkdir -p $(dir $@)
	@ln -sfn $(ROOT) $@

collection: venv $(COLL_LINK)

lab-up: collection
	$(PY) tests/lab/lab.py up

lab-down:
	@if [ -x $(PY) ]; then $(PY) tests/lab/lab.py down; else python3 tests/lab/lab.py down; fi

lab-status:
	@python3 tests/lab/lab.py status

lint: collection
	$(VENV)/bin/ruff check plugins tests benchmarks
	$(VENV)/bin/pycodestyle --max-line-length=160 --ignore=E402,W503,W504,E741,E203 plugins tests
	cd $(COLL_LINK) && PATH=$(VENV)/bin:$$PATH $(VENV)/bin/ansible-lint --profile production --offline

sanity: collection
	PATH=$(VENV)/bin:$$PATH bash tests/ci/sanity.sh

unit: collection
	$(PY) -m pytest -q tests/unit tests/lab

integration: lab-up
	$(PY) -m pytest -q tests/integration

# Role scenarios (molecule, default driver on localhost) converge against the lab; not at the same time as
# pytest, since both reset the lab's PVE.
molecule: lab-up
	PATH=$(VENV)/bin:$$PATH bash tests/ci/molecule.sh

# The one command CI runs. The pytest run comes last so its summary line ends the output.
test: lint sanity galaxy-import lab-up molecule
	$(PY) -m pytest -q -p no:cacheprovider tests/unit tests/lab tests/integration

# The main job on the lab: NetBox's example desired state -> Proxmox, then the same run again (no change).
DEMO_PLAYBOOK = $(VENV)/bin/ansible-playbook -i .lab/demo/inventory playbooks/proxmox-vm-manager.yml \
	--vault-password-file .lab/demo/vault-pass
demo: lab-up
	cd $(ROOT) && $(VENV)/bin/ansible-playbook -i localhost, playbooks/demo.yml
	$(PY) tests/lab/demo/prepare.py
	@echo "=== first run: make Proxmox match NetBox"
	cd $(ROOT) && $(DEMO_PLAYBOOK)
	@echo "=== second run: nothing to change"
	cd $(ROOT) && $(DEMO_PLAYBOOK)

# Speed: a no-change netbox_vm_sync over 1,000 VMs against the minimum reads and the peers (benchmarks/README.md).
# The peers live in their own venv: never in .venv.
BENCH_PEERS := $(BUILD)/bench-peers-venv

$(BENCH_PEERS)/.stamp:
	@test -x $(BENCH_PEERS)/bin/python || $(PYTHON312) -m venv $(BENCH_PEERS)
	$(BENCH_PEERS)/bin/pip install -q --disable-pip-version-check 'ansible>=14,<15' proxmoxer pynetbox pytz pyinstrument
	@touch $@

bench: lab-up $(BENCH_PEERS)/.stamp
	$(PY) benchmarks/seed.py
	$(PY) benchmarks/run.py $(BENCH_ARGS)

build: collection
	@mkdir -p $(BUILD)/dist
	$(VENV)/bin/ansible-galaxy collection build --force --output-path $(BUILD)/dist $(ROOT)

galaxy-import: build
	PATH=$(VENV)/bin:$$PATH bash tests/ci/galaxy_import.sh $(BUILD)/dist/nbsync-proxmox-*.tar.gz

clean:
	rm -rf $(BUILD)
