#!/usr/bin/env bash
# ansible-lint (production profile), changelog lint, docs render, galaxy build.
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
echo "== ansible-doc renders every module, filter and role"
render() {  # render TYPE NAME...: fail unless ansible-doc returns documentation for each
  local type=$1; shift
  [ $# -gt 0 ] || return 0
  ansible-doc -t "$type" --json "${@/#/cinder_local.iscsi_multipath.}" | python3 -c '
import json, sys
docs = json.load(sys.stdin)
missing = [n for n in sys.argv[1:] if not (docs.get("cinder_local.iscsi_multipath." + n) or {}).get("doc")]
if missing:
    sys.exit("ansible-doc rendered nothing for: " + ", ".join(missing))
print("  %d ok" % len(sys.argv[1:]))' "$@"
}
mapfile -t modules < <(find plugins/modules -name '*.py' ! -name '__init__.py' -printf '%f\n' | sed 's/\.py$//' | sort)
mapfile -t filters < <(ansible-doc -t filter -l cinder_local.iscsi_multipath 2>/dev/null | awk '{print $1}' | sed 's/^cinder_local\.iscsi_multipath\.//' | sort)
mapfile -t roles < <(find roles -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort)
render module "${modules[@]}"
render filter "${filters[@]}"
for role in "${roles[@]}"; do
  ansible-doc -t role "cinder_local.iscsi_multipath.$role" >/dev/null
done
echo "  ${#roles[@]} roles ok"
if [ -x tools/check-argspecs.py ]; then
  echo "== role argument specs match defaults"
  tools/check-argspecs.py
fi

echo "== ansible-galaxy collection build"
(cd "$dest" && ansible-galaxy collection build --force --output-path "$repo/.cache/build" >/dev/null)
ls "$repo"/.cache/build/*.tar.gz
