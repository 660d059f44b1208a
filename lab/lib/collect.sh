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
    setsid /usr/bin/python3 "$LAB_SRC/lib/forward.py" "/run/netns/$STORAGE_NETNS" "$address" "$port" "$state.port" \
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
    if lio_running; then
        cp "$LIO_DIR/console.log" "$dir/lio-console.log"
        lio_ssh "$LAB_SRC/guest/lio-config" list > "$dir/lio-targets.txt" 2>&1 < /dev/null
        lio_ssh dmesg > "$dir/lio-dmesg.txt" 2>&1 < /dev/null
    fi
    pid_alive "$LAB_DIR/qemu.pid" || { log "guest not running: only host-side logs in $dir"; return 0; }
    local guest into
    for guest in $(vm_guests); do  # guest 1 into DIR, guest N into DIR/lab-guestN
        vm_guest "$guest"
        into=$dir${GUEST_SUFFIX:+/$GUEST_HOST}
        mkdir -p "$into"
        [ "$guest" = 1 ] || cp "$GUEST_DIR/console.log" "$into/"
        timeout 180 ssh -F "$LAB_DIR/ssh_config" -o ControlMaster=no -o ControlPath=none "$GUEST_HOST" \
            "bash $LAB_SRC/guest/collect-logs" < /dev/null | tar -x -C "$into" ||
            log "collecting the logs of $GUEST_HOST failed or timed out (partial logs in $into)"
    done
    log "logs collected in $dir"
}
