#!/usr/bin/env bash
# Install what the tests, the lab and the demo need: Debian packages and virtualenvs.
# Idempotent: each step is skipped when its stamp matches its inputs.
set -euo pipefail
cd "$(dirname "$0")/.."
STAMPS=.cache/stamps
mkdir -p "$STAMPS"

APT_PACKAGES=(
  qemu-system-x86 linux-image-amd64 busybox-static cpio kmod zstd xz-utils
  tgt open-iscsi multipath-tools sg3-utils lsscsi fio
  iproute2 iptables iputils-ping openssh-server openssh-client bc make git rsync shellcheck
)

stamp_ok() { [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }

apt_key=$(printf '%s\n' "${APT_PACKAGES[@]}" | sha256sum | cut -c1-16)
if ! stamp_ok apt "$apt_key" || ! dpkg -s "${APT_PACKAGES[@]}" >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${APT_PACKAGES[@]}"
  echo "$apt_key" > "$STAMPS/apt"
fi

# Debian's packaged services must not run on the host: the lab starts its own.
for svc in tgt iscsid open-iscsi multipathd multipathd.socket iscsid.socket ssh; do
  systemctl disable --now "$svc" >/dev/null 2>&1 || true
done

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

make_venv() {  # make_venv DIR PYTHON REQUIREMENTS
  local dir=$1 py=$2 req=$3 key
  key="$($py -V 2>&1) $(sha256sum "$req" | cut -c1-16)"
  if stamp_ok "$(basename "$dir")" "$key" && [ -x "$dir/bin/python" ]; then return 0; fi
  rm -rf "$dir"
  "$py" -m venv "$dir"
  "$dir/bin/pip" install -q --upgrade pip 2>&1 | quiet_pip
  "$dir/bin/pip" install -q -r "$req" 2>&1 | quiet_pip
  echo "$key" > "$STAMPS/$(basename "$dir")"
}

make_venv .venv "$(pick_python 3.11)" requirements/controller.txt
if py_new=$(pick_python 3.13 3.12); then
  make_venv .venv-2.21 "$py_new" requirements/controller-2.21.txt
else
  echo "bootstrap: no Python 3.12+ here; ansible-core 2.21 checks are skipped" >&2
  rm -rf .venv-2.21
fi
make_venv .venv-openstack "$(pick_python 3.11)" requirements/lab-openstack.txt
echo "bootstrap: ready"
