#!/usr/bin/env bash
# ansible-test sanity, no ignore files, on every supported ansible-core.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
run_sanity() {  # run_sanity VENV
  local venv=$repo/$1 dest py
  py=$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  dest=$(tools/collection-tree.sh)
  trap 'rm -rf "${dest%/ansible_collections/*}"' RETURN
  echo "== ansible-test sanity: $("$venv/bin/ansible" --version | head -1), python $py"
  (cd "$dest" && PATH="$venv/bin:$PATH" ansible-test sanity --venv --python "$py" --color no)
}
run_sanity .venv
if [ -x .venv-2.21/bin/python ]; then run_sanity .venv-2.21
else echo "== sanity: ansible-core 2.21 skipped (no Python 3.12+ on this machine)"; fi
