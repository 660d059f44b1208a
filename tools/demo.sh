#!/usr/bin/env bash
# make demo: the main job, end to end, in the lab. A real Cinder creates a volume on the two-portal
# backend; the collection's playbooks prepare the guest and attach the volume over both storage
# networks; a pattern is written to the map, one storage network is cut while direct IO runs and then
# restored, the data is verified; the volume is detached and the demo fails if anything is left.
# One line per step; every step's full output is in results/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
export LAB_NAME=${LAB_NAME:-demo}
export PATH="$repo/.venv/bin:$PATH"
lab=lab/labctl
openstack_lab=lab/openstack/openstack-lab
volume_type=${DEMO_VOLUME_TYPE:-two-portal}
logs=results/demo
iocheck_state=/root/demo-iocheck.json
volume_id=""
started=$SECONDS
step_no=0

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ "$rc" -ne 0 ]; then
        echo "demo failed (exit $rc); every step's output and the lab's logs are in $logs/"
        $lab logs "$logs/lab" >/dev/null 2>&1 || true
    fi
    [ -z "$volume_id" ] || python tools/demo_volume.py delete "$volume_id" >/dev/null 2>&1 || true
    $openstack_lab down >/dev/null 2>&1 || true
    $lab down >/dev/null 2>&1 || true
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# step TITLE CMD...: CMD runs in a subshell that stops at its first failure, its output in a log of its own;
# one line with the step's time, or the log's tail and the demo's end.
step() {
    local title=$1 t0=$SECONDS rc
    shift
    step_no=$((step_no + 1))
    last_log=$(printf '%s/%02d.log' "$logs" "$step_no")
    printf '[%3d s] %s ... ' $((SECONDS - started)) "$title"
    set +e
    (set -e; "$@") > "$last_log" 2>&1
    rc=$?
    set -e
    if [ "$rc" -eq 0 ]; then
        printf 'ok (%d s)\n' $((SECONDS - t0))
    else
        printf 'FAILED (%d s)\n' $((SECONDS - t0))
        tail -n 25 "$last_log" | sed 's/^/    /'
        return "$rc"
    fi
}
say() { printf '        %s\n' "$@"; }

guest() { $lab exec -- "$@"; }
playbook() { ansible-playbook -i ".lab/$LAB_NAME/inventory.yml" -e target_hosts=lab-guest "$@"; }
iostat() { guest cat "$iocheck_state" | python3 -c "import json, sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }
wait_for() {  # wait_for SECONDS CMD...: until CMD succeeds
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do [ $SECONDS -lt $deadline ] || return 1; sleep 0.5; done
}
ios_at_least() { [ "$(iostat ios 2>/dev/null || echo 0)" -ge "$1" ]; }
path_failed() { guest multipathd show paths format "%t %T" | grep -Eq 'failed|faulty'; }
paths_active() { [ "$(guest multipathd show paths format "%t %T" | grep -c 'active ready')" -ge 2 ]; }

create_volume() {
    python tools/demo_volume.py create demo-volume "$volume_type" > "$logs/volume-id"
}
start_io() {  # the checker writes its verify region once, then writes and reads it back with O_DIRECT
    guest systemd-run --unit=demo-iocheck --collect /usr/bin/python3 "$repo/lab/guest/iocheck.py" --prefill \
        "$map" --state-file "$iocheck_state" --stop-file /root/demo-iocheck.stop --duration 900
    wait_for 120 ios_at_least 20
}
active_network() {  # the storage network of the first path in the active path group (A or B)
    guest multipathd show paths format "%a %t" | awk '$2 == "active" { print ($1 ~ /^198\.51\.100\./) ? "B" : "A"; exit }'
}
cut_network() { $lab cut "$cut_net"; wait_for 180 path_failed; }
io_goes_on() { local ios; ios=$(iostat ios); wait_for 180 ios_at_least $((ios + 20)); }
restore_network() { $lab restore "$cut_net"; wait_for 180 paths_active; }
io_done() { guest cat "$iocheck_state" | grep -q '"done": true'; }
stop_io() {
    guest touch /root/demo-iocheck.stop
    wait_for 60 io_done
    guest cat "$iocheck_state" > "$logs/iocheck.json"
    python3 - "$logs/iocheck.json" <<'EOF'
import json, sys
io = json.load(open(sys.argv[1]))
print("longest IO stall %.1f s, %d IO errors, %d mismatches, %.1f MiB read back and verified"
      % (io["max_gap_s"], io["io_errors"], io["mismatches"], io["bytes_verified"] / 1048576))
sys.exit(io["io_errors"] or io["mismatches"] or not io["bytes_verified"])
EOF
}
nothing_left() {  # every kind of thing an attach makes, counted on the guest and in Cinder
    # shellcheck disable=SC2016  # expanded in the guest
    guest sh -c '
        count() { printf "%s: %s\n" "$1" "$(sh -c "$2" 2>/dev/null | grep -c .)"; }
        count "iSCSI sessions" "iscsiadm -m session | grep ^tcp"
        count "node records" "iscsiadm -m node | grep :3260"
        count "multipath maps" "dmsetup ls --target multipath | grep -v \"No devices\""
        count "SCSI disks" "lsscsi | grep disk"
        count "attach records" "ls -A /var/lib/cinder_local/attachments"' | tee "$logs/left"
    python tools/demo_volume.py attachments "$volume_id" | tee -a "$logs/left"
    ! grep -q ': [1-9]' "$logs/left"
}

rm -rf "$logs"
mkdir -p "$logs"
# Our collection, resolvable by its FQCN without installing it.
collections=$repo/.cache/demo-collections
mkdir -p "$collections/ansible_collections/cinder_local"
ln -sfn "$repo" "$collections/ansible_collections/cinder_local/iscsi_multipath"
export ANSIBLE_COLLECTIONS_PATH=$collections ANSIBLE_HOST_KEY_CHECKING=false ANSIBLE_PIPELINING=true

step "lab up ($LAB_NAME): tgtd on 192.0.2.1 and 198.51.100.1, the guest VM" $lab up
step "a real Cinder 29 and Keystone 30 on the storage node" $openstack_lab up
eval "$($openstack_lab env)"
step "a 1 GiB Cinder volume of type $volume_type" create_volume
volume_id=$(tail -n 1 "$logs/volume-id")
say "volume $volume_id"
step "prepare_hosts.yml: open-iscsi and multipath-tools on the guest" playbook playbooks/prepare_hosts.yml
step "attach_volume.yml: connector, Cinder, a login on every portal, dm-multipath" \
    playbook playbooks/attach_volume.yml -e "volume_ids=$volume_id"
guest multipathd show maps json | python tools/demo_topology.py > "$logs/topology"
mapfile -t topology < <(head -n -1 "$logs/topology")
say "${topology[@]}"
map=/dev/mapper/$(guest multipathd show maps raw format "%w" | head -n 1)
step "write a pattern to $map, direct IO running" start_io
cut_net=$(active_network)
step "cut storage network $cut_net (the active path's) while IO runs: multipathd fails that path" cut_network
step "IO goes on over the other network" io_goes_on
step "restore network $cut_net: every path active again" restore_network
step "stop IO, read the pattern back" stop_io
say "$(tail -n 1 "$last_log")"
step "detach_volume.yml: flush, delete the devices, log out, delete the attachment" \
    playbook playbooks/detach_volume.yml -e "volume_ids=$volume_id"
step "nothing left on the guest or in Cinder" nothing_left
mapfile -t left < "$logs/left"
say "${left[@]}"
step "delete the volume" python tools/demo_volume.py delete "$volume_id"
volume_id=""
printf '[%3d s] done\n' $((SECONDS - started))
