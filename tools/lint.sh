#!/usr/bin/env bash
# ansible-lint (production profile), changelog lint, the docs linter, argument specs, then
# the collection as users get it (tools/package.sh: build, install, galaxy-importer, ansible-doc and FQCN checks).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
export PATH="$repo/.venv/bin:$PATH"
# Resolve our own FQCNs from a copy in an ansible_collections tree, not from an install.
dest=$(tools/collection-tree.sh)
trap 'rm -rf "${dest%/ansible_collections/*}"' EXIT
export ANSIBLE_COLLECTIONS_PATH=${dest%/ansible_collections/*}

echo "== ansible-lint (production profile)"
ansible-lint --offline --profile production

echo "== changelog fragments"
antsibull-changelog lint
echo "== antsibull-docs lint-collection-docs --plugin-docs"
(cd "$dest" && antsibull-docs lint-collection-docs --plugin-docs .)
echo "  clean"
if [ -x tools/check-argspecs.py ]; then
  echo "== role argument specs match defaults"
  tools/check-argspecs.py
fi

tools/package.sh
