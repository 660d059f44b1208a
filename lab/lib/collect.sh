# shellcheck shell=bash
# `labctl forward` (storage-node TCP port on host 127.0.0.1) and `labctl logs DIR`.

cmd_forward() {
    storage_exists || die "lab '$LAB_NAME' has no storage node (labctl up first)"
    local port=${1:-} address=127.0.0.1 state
    [[ $port =~ ^[0-9]+$ ]] || die "usage: labctl forward PORT [--addr IP]"
    [ "${2:-}" = --addr ] && address=${3:?--addr needs an address}
    state="$LAB_DIR/forward-$address-$port"
    if pid_alive "$state.pid"; then cat "$state.port"; return 0; fi
    rm -f "$state.port"
    setsid "$LAB_SRC/lib/forward.py" "/run/netns/$STORAGE_NETNS" "$address" "$port" "$state.port" \
        >> "$LAB_DIR/forward.log" 2>&1 < /dev/null 9>&- &
    echo $! > "$state.pid"
    disown
    wait_until 30 "the forwarder to listen" test -s "$state.port" ||
        die "forwarder did not start; see $LAB_DIR/forward.log"
    cat "$state.port"
}

cmd_logs() {
    local dir=${1:-} file
    [ -n "$dir" ] || die "usage: labctl logs DIR"
    mkdir -p "$dir" || die "cannot create $dir"
    for file in console.log qemu.log tgtd.log forward.log timings cuts; do
        [ -e "$LAB_DIR/$file" ] && cp "$LAB_DIR/$file" "$dir/"
    done
    if storage_exists; then
        storage_run tgtadm --lld iscsi --op show --mode target > "$dir/tgtadm-targets.txt" 2>&1
        storage_run iptables -S > "$dir/storage-iptables.txt" 2>&1
        storage_run ip -d addr > "$dir/storage-ip-addr.txt" 2>&1
    fi
    pid_alive "$LAB_DIR/qemu.pid" || { log "guest not running: only host-side logs in $dir"; return 0; }
    logs_from_guest "$dir" dmesg.txt dmesg
    logs_from_guest "$dir" journal.txt journalctl -b --no-pager
    logs_from_guest "$dir" iscsid-multipathd.txt journalctl -b --no-pager -u iscsid -u multipathd
    logs_from_guest "$dir" iscsi-sessions.txt iscsiadm -m session -P 3
    logs_from_guest "$dir" multipath-ll.txt multipath -ll
    logs_from_guest "$dir" multipathd-paths.txt multipathd show paths
    logs_from_guest "$dir" lsblk.txt lsblk
    logs_from_guest "$dir" ip-addr.txt ip addr
    logs_from_guest "$dir" guest-config.txt sh -c \
        'for f in /etc/multipath.conf /etc/iscsi/iscsid.conf /etc/iscsi/initiatorname.iscsi; do
            echo "== $f"; sed -E "s/^([^#]*password[^=]*=).*/\\1 ********/" "$f"; done'
    log "logs collected in $dir"
}

logs_from_guest() {  # logs_from_guest DIR FILE CMD...: bounded, never fails
    local dir=$1 file=$2
    shift 2
    timeout 60 ssh -F "$LAB_DIR/ssh_config" -o ControlMaster=no -o ControlPath=none lab-guest \
        -- "$(printf '%q ' "$@")" > "$dir/$file" 2>&1 < /dev/null || true
}
