#!/usr/bin/env bash
# Unit tests (pytest in an ansible_collections tree) on every supported ansible-core.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
run_units() {  # run_units VENV
  local python=$repo/$1/bin/python dest
  dest=$(tools/collection-tree.sh)
  trap 'rm -rf "${dest%/ansible_collections/*}"' RETURN
  echo "== unit tests: ansible-core $("$python" -c 'import ansible; print(ansible.__version__)') ($("$python" -V))"
  (cd "$dest" && PYTHONPATH="${dest%/ansible_collections/*}" \
    "$python" -m pytest -q -p no:cacheprovider tests/unit)
}
run_units .venv
if [ -x .venv-2.21/bin/python ]; then
  run_units .venv-2.21
else
  echo "== unit tests: ansible-core 2.21 skipped (no Python 3.12+ on this machine)"
fi
