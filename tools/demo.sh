#!/usr/bin/env bash
# Demo: start the lab, serve one LUN on both storage portals, attach it in the guest with
# iscsiadm + multipathd (two paths), show the map, detach, and tear the lab down.
# (It will grow to use Cinder and the collection's roles.)
set -euo pipefail
cd "$(dirname "$0")/.."
export LAB_NAME=${LAB_NAME:-demo}
lab=lab/labctl
iqn=iqn.2026-11.example.lab:demo
portals=(192.0.2.1:3260 198.51.100.1:3260)

trap '$lab down' EXIT
step() { printf '\n== %s\n' "$*"; }
guest() { $lab exec -- "$@"; }

step "lab up (LAB_NAME=$LAB_NAME)"
$lab up
step "storage node: one 64 MiB LUN on ${portals[*]}"
$lab target add --iqn "$iqn" --lun 1 --size 64M

step "guest: iscsid, discovery and login on both portals"
guest systemctl start iscsid
for portal in "${portals[@]}"; do
    guest iscsiadm -m discovery -t sendtargets -p "$portal"
    guest iscsiadm -m node -T "$iqn" -p "$portal" --login
done
guest iscsiadm -m session

step "guest: multipathd builds one map over the two paths"
guest sh -c 'printf "defaults {\n    find_multipaths no\n    user_friendly_names no\n}\n" > /etc/multipath.conf'
guest systemctl start multipathd
# shellcheck disable=SC2016  # expanded in the guest
guest timeout 120 sh -c 'until [ "$(multipathd show paths format "%T" | grep -c ready)" -ge 2 ]; do sleep 1; done'
guest multipath -ll
wwid=$(guest multipathd show maps raw format '%w' | head -n1)
echo "device: /dev/mapper/$wwid -> $(guest readlink -f "/dev/mapper/$wwid")"

step "guest: detach (flush the map, log out, delete the node records)"
guest multipath -f "$wwid"
guest iscsiadm -m node -T "$iqn" --logout
guest iscsiadm -m node -T "$iqn" -o delete
guest iscsiadm -m session || true

step "lab down"
