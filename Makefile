# Developer entry points. `make test` and `make demo` work on a fresh Debian machine (root).
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

bootstrap:  ## install system packages and the virtualenvs (idempotent)
	tools/bootstrap.sh

units: bootstrap  ## unit tests on ansible-core 2.19 (py3.11) and 2.21 (py3.12+)
	tools/units.sh

sanity: bootstrap  ## ansible-test sanity in a temporary ansible_collections tree
	tools/sanity.sh

lint: bootstrap  ## ansible-lint (production profile), yamllint, changelog lint, build
	tools/lint.sh

molecule: bootstrap  ## every molecule scenario, in the real-kernel lab
	tools/molecule.sh

test: bootstrap  ## everything CI runs: units, sanity, lint, molecule
	tools/units.sh
	tools/sanity.sh
	tools/lint.sh
	tools/molecule.sh

demo: bootstrap  ## lab up, attach a Cinder volume over two networks, show the map, detach
	tools/demo.sh

bench: bootstrap  ## benchmarks against os-brick; writes bench/results.md and bench/results.json
	bench/run.sh

clean:  ## tear the lab down and remove build output
	-lab/labctl down --all
	rm -rf tests/output .cache/build

.PHONY: help bootstrap units sanity lint molecule test demo bench clean
