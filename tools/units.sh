#!/usr/bin/env bash
# Unit tests (pytest through ansible-test's layout) on every supported ansible-core.
set -euo pipefail
cd "$(dirname "$0")/.."
run_units() {  # run_units VENV LABEL
  local venv=$1 label=$2 dest
  dest=$(tools/collection-tree.sh)
  trap 'rm -rf "${dest%/ansible_collections/*}"' RETURN
  echo "== unit tests: $label ($("$venv/bin/python" -V))"
  (cd "$dest" && PYTHONPATH="${dest%/ansible_collections/*}" \
    "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/unit)
}
run_units .venv "ansible-core $(.venv/bin/python -c 'import ansible; print(ansible.__version__)')"
if [ -x .venv-2.21/bin/python ]; then
  run_units .venv-2.21 "ansible-core $(.venv-2.21/bin/python -c 'import ansible; print(ansible.__version__)')"
else
  echo "== unit tests: ansible-core 2.21 skipped (no Python 3.12+ on this machine)"
fi
