#!/usr/bin/env bash
# ansible-test sanity, no ignore files, on every supported ansible-core.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

# ansible-test bootstraps pip in its venvs from a script it downloads from a host we cannot
# reach; give it an equivalent that uses ensurepip and the package index.
for venv in .venv .venv-2.21; do
  [ -x "$venv/bin/python" ] || continue
  v=$("$venv/bin/python" - <<'PY'
import inspect, re
from ansible_test._internal import python_requirements as pr
print(re.search(r"pip='([0-9.]+)'", inspect.getsource(pr.get_venv_packages)).group(1))
PY
)
  cache=~/.ansible/test/cache/get_pip_${v//./_}.py
  [ -f "$cache" ] || install -D -m 0644 tools/get_pip_offline.py "$cache"
done
run_sanity() {  # run_sanity VENV
  local venv=$repo/$1 dest py
  py=$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  dest=$(tools/collection-tree.sh)
  trap 'rm -rf "${dest%/ansible_collections/*}"' RETURN
  echo "== ansible-test sanity: ansible-core $("$venv/bin/python" -c "import ansible; print(ansible.__version__)"), python $py"
  (cd "$dest" && PATH="$venv/bin:$PATH" ansible-test sanity --venv --python "$py" --color no)
}
run_sanity .venv
if [ -x .venv-2.21/bin/python ]; then run_sanity .venv-2.21
else echo "== sanity: ansible-core 2.21 skipped (no Python 3.12+ on this machine)"; fi
