#!/usr/bin/env bash
# Install what the tests, the lab and the demo need: Debian packages and virtualenvs.
# Idempotent: apt runs only when a package is missing; a venv is rebuilt only when its inputs change.
set -euo pipefail
cd "$(dirname "$0")/.."
STAMPS=.cache/stamps
mkdir -p "$STAMPS"

APT_PACKAGES=(
  qemu-system-x86 linux-image-amd64 busybox-static cpio kmod zstd xz-utils
  tgt open-iscsi multipath-tools sg3-utils lsscsi fio xfsprogs e2fsprogs
  iproute2 iptables iputils-ping openssh-server openssh-client bc make git rsync shellcheck
  curl jq ca-certificates python3 python3-venv
)

stamp_ok() { [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }

# Packages that ship a service (tgt, open-iscsi, multipath-tools, ssh) are installed without starting it:
# the lab runs its own daemons in its own namespaces and VMs, and the machine's services are left alone.
# A policy-rc.d already in place is the machine's own: it stays, and so does what it decides.
POLICY=/usr/sbin/policy-rc.d

if ! dpkg -s "${APT_PACKAGES[@]}" >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$POLICY" && chmod 755 "$POLICY"
    trap 'rm -f "$POLICY"' EXIT
  fi
  apt-get install -y -q --no-install-recommends "${APT_PACKAGES[@]}"
  if [ "$(trap -p EXIT)" ]; then rm -f "$POLICY"; trap - EXIT; fi
fi

pick_python() {  # first interpreter of the given minor versions that works (PATH, then pyenv)
  local v cand
  for v in "$@"; do
    for cand in "python$v" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$v".*/bin/"python$v"; do
      if "$cand" -c 'import venv, ensurepip' >/dev/null 2>&1; then
        echo "$cand"; return 0
      fi
    done
  done
  return 1
}

quiet_pip() { grep -v "is ignored: it is neither a file nor a directory" || true; }

# Each venv installs its requirements under the complete pins of a known-good install
# (requirements/constraints-NAME.txt). REFRESH_CONSTRAINTS=1 installs without them and writes them anew.
make_venv() {  # make_venv DIR PYTHON NAME: requirements/NAME.txt under requirements/constraints-NAME.txt
  local dir=$1 py=$2 req=requirements/$3.txt pins=requirements/constraints-$3.txt key
  key="$($py -V 2>&1) $(cat "$req" "$pins" | sha256sum | cut -c1-16)"
  if [ -z "${REFRESH_CONSTRAINTS:-}" ] && stamp_ok "$(basename "$dir")" "$key" && [ -x "$dir/bin/python" ]; then
    return 0
  fi
  rm -rf "$dir"
  "$py" -m venv "$dir"
  if [ -n "${REFRESH_CONSTRAINTS:-}" ]; then
    "$dir/bin/pip" install -q --upgrade pip 2>&1 | quiet_pip
    "$dir/bin/pip" install -q -r "$req" 2>&1 | quiet_pip
    { echo "# Complete pins of a known-good install of $req ($(date -u +%F), $("$dir/bin/python" -V))."
      echo "# tools/bootstrap.sh installs under them; REFRESH_CONSTRAINTS=1 tools/bootstrap.sh writes them anew."
      "$dir/bin/pip" freeze --all | grep -v -E '^(setuptools|wheel)=='; } > "$pins"
    key="$($py -V 2>&1) $(cat "$req" "$pins" | sha256sum | cut -c1-16)"
  else
    "$dir/bin/pip" install -q --upgrade pip -c "$pins" 2>&1 | quiet_pip
    "$dir/bin/pip" install -q -r "$req" -c "$pins" 2>&1 | quiet_pip
  fi
  echo "$key" > "$STAMPS/$(basename "$dir")"
}

make_venv .venv "$(pick_python 3.11)" controller
if py_new=$(pick_python 3.13 3.12); then
  make_venv .venv-2.21 "$py_new" controller-2.21
else
  echo "bootstrap: no Python 3.12+ here; ansible-core 2.21 checks are skipped" >&2
  rm -rf .venv-2.21
fi
make_venv .venv-openstack "$(pick_python 3.11)" lab-openstack
make_venv .venv-local-attach "$(pick_python 3.11)" bench-local-attach  # the bench's `cinder local-attach`
echo "bootstrap: ready"
