#!/usr/bin/env bash
# Run every molecule scenario under extensions/molecule (or the ones named), one after
# the other, each in its own lab (LAB_NAME=mol-<scenario>). Prints the wall time of each,
# fails if any failed, and never leaves a lab running. Logs: results/molecule/<scenario>/.
#   usage: tools/molecule.sh [SCENARIO...]
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"

# One lab user at a time on this machine (molecule installs the collection into a shared path, and two TCG
# labs at once slow both): wait for the lab lock that bench/run.sh takes too.
exec 9>"${LAB_LOCK:-/tmp/cinder-local-lab.lock}"
flock 9

if [ $# -gt 0 ]; then
    scenarios=("$@")
else
    mapfile -t scenarios < <(find extensions/molecule -mindepth 2 -maxdepth 2 -name molecule.yml \
        -printf '%h\n' | xargs -rn1 basename | sort)
fi
[ ${#scenarios[@]} -gt 0 ] || { echo "molecule.sh: no scenarios under extensions/molecule" >&2; exit 1; }

lab_name() { printf 'mol-%s' "$1" | tr -c 'a-z0-9-' '-' | cut -c1-20; }

current=""
cleanup() {  # shellcheck disable=SC2317  # called from the traps
    [ -n "$current" ] && LAB_NAME=$(lab_name "$current") lab/labctl down >/dev/null 2>&1
}
trap 'cleanup; exit 130' INT TERM
trap cleanup EXIT

declare -A outcome seconds
failed=0
for scenario in "${scenarios[@]}"; do
    current=$scenario
    rm -rf "results/molecule/$scenario" && mkdir -p "results/molecule/$scenario"
    start=$(date +%s)
    echo "== molecule test -s $scenario (LAB_NAME=$(lab_name "$scenario"))"
    if LAB_NAME=$(lab_name "$scenario") molecule test -s "$scenario" 2>&1 |
        tee "results/molecule/$scenario/molecule.log"; then
        outcome[$scenario]=passed
    else
        outcome[$scenario]=FAILED
        failed=1
    fi
    seconds[$scenario]=$(($(date +%s) - start))
    LAB_NAME=$(lab_name "$scenario") lab/labctl down >/dev/null 2>&1
    current=""
done

echo "== molecule summary"
for scenario in "${scenarios[@]}"; do
    printf '  %-24s %-7s %5ss\n' "$scenario" "${outcome[$scenario]}" "${seconds[$scenario]}"
done
exit "$failed"
