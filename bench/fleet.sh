#!/usr/bin/env bash
# bench/fleet.sh: one play over 2 hosts x 4 volumes against 1 host x 4 volumes, through ansible-runner as AWX runs
# it (2 forks), real Cinder (lab/openstack), the roles' default Cinder throttle. A lab with two guests
# (LAB_GUESTS=2); iscsid and the multipath role on both (bench/ansible/fleet_prepare.yml). BENCH_FLEET_RUNS rounds (default 2), each
# attach_volume.yml then detach_volume.yml for each shape. Prints a table; samples in .cache/bench/fleet-<stamp>/.
# Nothing here is a test: no time is asserted.
set -euo pipefail
cd "$(dirname "$0")/.."
exec 9>"${LAB_LOCK:-/tmp/cinder-local-lab.lock}"  # one lab user at a time (see tools/molecule.sh)
flock 9
REPO=$PWD
export PATH=$REPO/.venv/bin:$PATH LAB_NAME=${LAB_NAME:-bench-fleet} LAB_GUESTS=2 FLEET_CINDER_THROTTLE=10
RUNS=${BENCH_FLEET_RUNS:-2}
OUT=$REPO/.cache/bench/fleet-$(date -u +%Y%m%dT%H%M%SZ)
FLEET=$REPO/extensions/molecule/fleet/files/fleet.py
mkdir -p "$OUT"
log() { printf '%s bench-fleet: %s\n' "$(date -u +%T)" "$*" >&2; }

collections=$(tools/collection-tree.sh)
export ANSIBLE_COLLECTIONS_PATH=${collections%/ansible_collections/*} ANSIBLE_HOME=$OUT/ansible-home
cleanup() {
    lab/openstack/openstack-lab down >/dev/null 2>&1 || true
    lab/labctl down >/dev/null 2>&1 || true
    rm -rf "$ANSIBLE_COLLECTIONS_PATH"
}
trap cleanup EXIT

log "lab up (2 guests), Cinder, iscsid and multipathd"
lab/labctl up
inventory=$(lab/labctl inventory)
lab/openstack/openstack-lab up
eval "$(lab/openstack/openstack-lab env)"
ANSIBLE_HOST_KEY_CHECKING=False ansible-playbook -i "$inventory" bench/ansible/fleet_prepare.yml > "$OUT/prepare.log"
specs=()
for host in a b; do for i in 1 2 3 4; do specs+=("bench-$host-$i=two-portal"); done; done
python "$FLEET" create "${specs[@]}" > "$OUT/volumes.json"
own() { jq -c "[to_entries[] | select(.key | startswith(\"bench-$1-\")) | .value]" "$OUT/volumes.json"; }
both=$(jq -cn --argjson a "$(own a)" --argjson b "$(own b)" '{"lab-guest": $a, "lab-guest2": $b}')
one=$(jq -cn --argjson a "$(own a)" '{"lab-guest": $a}')

for run in $(seq 1 "$RUNS"); do
    for shape in 1x4 2x4; do
        volumes=$([ "$shape" = 1x4 ] && echo "$one" || echo "$both")
        limit=()
        [ "$shape" = 1x4 ] && limit=(--limit lab-guest)
        for action in attach detach; do
            log "round $run: $shape $action"
            FLEET_HOST_VOLUMES=$volumes python "$FLEET" run "$shape-$action-$run" "$REPO/playbooks/${action}_volume.yml" \
                "$inventory" "$OUT/runner" "${limit[@]}" |
                jq -c --arg shape "$shape" --arg action "$action" --argjson run "$run" \
                    '{shape: $shape, action: $action, run: $run, rc, wall_s, engine, cinder}' >> "$OUT/samples.jsonl"
        done
    done
done
python bench/fleet_table.py "$OUT/samples.jsonl" | tee "$OUT/table.md"
