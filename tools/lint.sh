#!/usr/bin/env bash
# ansible-lint (production profile), changelog lint, docs render, galaxy build.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
echo "== ansible-lint (production profile)"
ansible-lint --offline --profile production

echo "== changelog fragments"
antsibull-changelog lint

dest=$(tools/collection-tree.sh)
trap 'rm -rf "${dest%/ansible_collections/*}"' EXIT
export ANSIBLE_COLLECTIONS_PATH=${dest%/ansible_collections/*}
echo "== ansible-doc renders every module, filter and role"
for f in plugins/modules/*.py; do
  ansible-doc -t module "cinder_local.iscsi_multipath.$(basename "$f" .py)" >/dev/null
done
for f in plugins/filter/*.py; do
  for name in $(grep -oP "^\s+['\"]\K[a-z_]+(?=['\"]:\s)" "$f" | sort -u); do
    ansible-doc -t filter "cinder_local.iscsi_multipath.$name" >/dev/null
  done
done
for d in roles/*/; do
  ansible-doc -t role "cinder_local.iscsi_multipath.$(basename "$d")" >/dev/null
done
if [ -x tools/check-argspecs.py ]; then
  echo "== role argument specs match defaults"
  tools/check-argspecs.py
fi

echo "== ansible-galaxy collection build"
(cd "$dest" && ansible-galaxy collection build --force --output-path "$repo/.cache/build" >/dev/null)
ls "$repo"/.cache/build/*.tar.gz
