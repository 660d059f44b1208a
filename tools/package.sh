#!/usr/bin/env bash
# The collection as users get it: build the tarball, check it holds only what a user installs, install it
# into an empty collections path, let Galaxy's importer judge it, and use that installed copy alone:
# ansible-doc on every plugin and role, a syntax check of every playbook by its FQCN, and the execution
# environment built on it (tools/check-ee.sh).
# Leaves the tarball in .cache/build/.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
export PATH="$repo/.venv/bin:$PATH"
fqcn=cinder_local.iscsi_multipath
work=$(mktemp -d "${TMPDIR:-/tmp}/iscsi_multipath-package.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "== ansible-galaxy collection build"
src=$(TMPDIR=$work tools/collection-tree.sh)
rm -rf .cache/build
(cd "$src" && ansible-galaxy collection build --output-path "$repo/.cache/build" >/dev/null)
tarball=$(ls .cache/build/cinder_local-iscsi_multipath-*.tar.gz)
echo "  $tarball"
tools/check-package.py "$tarball"

echo "== ansible-galaxy collection install into an empty collections path"
installed=$work/installed
export ANSIBLE_COLLECTIONS_PATH=$installed ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
ansible-galaxy collection install --offline -p "$installed" "$tarball" >/dev/null
ansible-galaxy collection list "$fqcn" | grep -q "^$fqcn " || { echo "not installed: $fqcn" >&2; exit 1; }
echo "  $fqcn $(ansible-galaxy collection list "$fqcn" | awk -v c="$fqcn" '$1 == c { print $2 }')"

echo "== galaxy-importer (ansible-lint and ansible-doc inside it; ansible-test runs in sanity)"
cat > "$work/importer.cfg" <<CFG
[galaxy-importer]
run_ansible_test = False
run_ansible_lint = True
run_ansible_doc = True
check_changelog = True
CFG
# It writes importer_result.json into its working directory: ours is the temporary one.
(cd "$work" && GALAXY_IMPORTER_CONFIG=importer.cfg python -m galaxy_importer.main --print-result "$repo/$tarball" \
    > importer.json 2> importer.log) || { cat "$work/importer.log" >&2; exit 1; }
python - "$work/importer.json" "$work/importer.log" <<'EOF'
import json, re, sys
text = open(sys.argv[1]).read()
result = json.loads(text[text.index("{"):])
log = open(sys.argv[2]).read()
problems = [line for line in log.splitlines() if re.search(r"\b(ERROR|WARNING)\b", line)]
for line in problems:
    print("  importer: " + line, file=sys.stderr)
if problems:
    sys.exit("galaxy-importer: %d warning(s) or error(s)" % len(problems))
print("  %d contents imported, no warning" % len(result.get("contents", [])))
EOF

echo "== ansible-doc from the installed copy"
for kind in module filter; do  # every plugin the installed copy lists, each with its documentation
    ansible-doc -t "$kind" -l --json "$fqcn" | python -c '
import json, subprocess, sys
kind, names = sys.argv[1], sorted(json.load(sys.stdin))
docs = json.loads(subprocess.run(["ansible-doc", "-t", kind, "--json", *names], check=True,
                                 capture_output=True, text=True).stdout)
missing = [n for n in names if not (docs.get(n) or {}).get("doc")]
if missing or not names:
    sys.exit("ansible-doc rendered nothing for: %s" % (", ".join(missing) or "any " + kind))
print("  %d %ss" % (len(names), kind))' "$kind"
done
mapfile -t roles < <(ansible-doc -t role -l --json "$fqcn" | python -c 'import json, sys; print("\n".join(json.load(sys.stdin)))')
for role in "${roles[@]}"; do ansible-doc -t role "$role" >/dev/null; done
echo "  ${#roles[@]} roles"

echo "== syntax check of every playbook by FQCN, from the installed copy"
cd "$work"
for playbook in "$installed/ansible_collections/cinder_local/iscsi_multipath/playbooks/"*.yml; do
    name=$fqcn.$(basename "$playbook" .yml)
    ansible-playbook --syntax-check -i localhost, "$name" >/dev/null
    echo "  $name"
done

"$repo/tools/check-ee.sh" "$repo/$tarball" "$installed"
