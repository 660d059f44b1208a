#!/usr/bin/env bash
# make demo: the main job, end to end, in the lab. A real Cinder creates a volume on the two-portal
# backend; the collection's playbooks prepare the guest, attach the volume over both storage
# networks, show the multipath topology and where the device is, and detach it again.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
export LAB_NAME=${LAB_NAME:-demo}
export PATH="$repo/.venv/bin:$PATH"
lab=lab/labctl
openstack_lab=lab/openstack/openstack-lab
volume_type=${DEMO_VOLUME_TYPE:-two-portal}
volume_id=""

step() { printf '\n== %s\n' "$*"; }
guest() { $lab exec -- "$@"; }
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ "$rc" -ne 0 ]; then
        echo "demo failed (exit $rc); logs in results/demo/"
        $lab logs results/demo >/dev/null 2>&1 || true
    fi
    [ -z "$volume_id" ] || python tools/demo_volume.py delete "$volume_id" >/dev/null 2>&1 || true
    $openstack_lab down >/dev/null 2>&1 || true
    $lab down
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Our collection, resolvable by its FQCN without installing it.
collections=$repo/.cache/demo-collections
mkdir -p "$collections/ansible_collections/cinder_local"
ln -sfn "$repo" "$collections/ansible_collections/cinder_local/iscsi_multipath"
export ANSIBLE_COLLECTIONS_PATH=$collections ANSIBLE_HOST_KEY_CHECKING=false ANSIBLE_PIPELINING=true
playbook() {
    ansible-playbook -i ".lab/$LAB_NAME/inventory.yml" -e target_hosts=lab-guest "$@"
}

step "lab up (LAB_NAME=$LAB_NAME): storage node with tgtd on 192.0.2.1 and 198.51.100.1, guest VM"
$lab up
step "a real Cinder 29 and Keystone 30 on the storage node"
$openstack_lab up
eval "$($openstack_lab env)"
volume_id=$(python tools/demo_volume.py create demo-volume "$volume_type")
echo "volume $volume_id ($volume_type) is available"

step "playbooks/prepare_hosts.yml: open-iscsi and multipath-tools configured on the guest"
playbook playbooks/prepare_hosts.yml

step "playbooks/attach_volume.yml: connector -> Cinder -> logins on every portal -> dm-multipath"
playbook playbooks/attach_volume.yml -e "volume_ids=$volume_id"

step "the multipath topology on the guest"
guest multipath -ll
guest multipathd show maps json | python tools/demo_topology.py
guest ls -l /dev/mapper/ /dev/disk/by-id/ | grep -E 'dm-uuid-mpath-|-> \.\./dm-' || true
guest iscsiadm -m session

step "playbooks/detach_volume.yml: flush, delete devices, log out, delete the attachment"
playbook playbooks/detach_volume.yml -e "volume_ids=$volume_id"
echo "left on the guest: iSCSI sessions: $(guest iscsiadm -m session 2>&1 | grep -c '^tcp' || true)," \
     "$(guest multipathd show maps json | python tools/demo_topology.py | tail -n1)," \
     "SCSI disks: $(guest lsscsi | grep -c disk || true)"
python tools/demo_volume.py delete "$volume_id"
volume_id=""
step "done"
