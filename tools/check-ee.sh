#!/usr/bin/env bash
# The execution environment: the built collection, once installed, declares its own Python requirements
# (ansible-builder introspection finds exactly requirements.txt, openstacksdk among them), and
# `ansible-builder create` writes a build context from execution-environment.yml that installs that very
# tarball. No container engine needed.
#
# usage: tools/check-ee.sh TARBALL INSTALLED   (tools/package.sh passes its tarball and installed copy)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
tarball=$1 installed=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/iscsi_multipath-ee.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "== execution environment"
mkdir -p "$work/ee/.cache/build"
cp "$tarball" "$work/ee/.cache/build/"
ansible-builder introspect "$installed" > "$work/introspect.yml"
python3 - "$work/introspect.yml" requirements.txt <<'EOF'
import sys
import yaml

found = yaml.safe_load(open(sys.argv[1]))
suffix = "  # from collection cinder_local.iscsi_multipath"
python = sorted(r[:-len(suffix)] for r in found["python"] if r.endswith(suffix))
wanted = sorted(line.strip() for line in open(sys.argv[2]) if line.strip() and not line.startswith("#"))
if python != wanted or not any(r.startswith("openstacksdk") for r in python):
    sys.exit("introspection found %s, requirements.txt says %s (cinder_attachment needs openstacksdk)"
             % (python, wanted))
print("  introspection: %s" % ", ".join(python))
EOF
cp execution-environment.yml "$work/ee/"
ansible-builder create --output-filename Containerfile -f "$work/ee/execution-environment.yml" \
  -c "$work/ee/context" >/dev/null
for f in Containerfile "_build/collections/${tarball##*/}"; do
  [ -f "$work/ee/context/$f" ] || { echo "ansible-builder create wrote no $f" >&2; exit 1; }
done
grep -q 'introspect.py introspect' "$work/ee/context/Containerfile" \
  || { echo "the Containerfile does not introspect the installed collections" >&2; exit 1; }
echo "  ansible-builder create: Containerfile installs ${tarball##*/}"
