#!/usr/bin/env bash
# Print the path of a fresh ansible_collections/cinder_local/iscsi_multipath copy of the
# tracked (and untracked, not ignored) files: ansible-test needs that layout.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(mktemp -d "${TMPDIR:-/tmp}/iscsi_multipath.XXXXXX")
dest=$root/ansible_collections/cinder_local/iscsi_multipath
mkdir -p "$dest"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] && printf '%s\0' "$f"
done | xargs -0 cp --parents -t "$dest"
git -C "$dest" init -q && git -C "$dest" add -A >/dev/null
echo "$dest"
