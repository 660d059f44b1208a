# shellcheck shell=bash
# The storage node: network namespace $STORAGE_NETNS + a persistent private mount
# namespace (own /run and /sys), two bridges (networks A and B) and a real tgtd.

storage_run() {  # run a command on the storage node
    nsenter --net="/run/netns/$STORAGE_NETNS" --mount="$STORAGE_MNTNS" -- "$@"
}

storage_exists() { [ -e "/run/netns/$STORAGE_NETNS" ] && mountpoint -q "$STORAGE_MNTNS"; }

storage_up() {
    local net
    mkdir -p "$LAB_DIR/ns"
    # The namespace file must live on a private mount (it may not propagate into itself).
    mount --bind "$LAB_DIR/ns" "$LAB_DIR/ns"
    mount --make-private "$LAB_DIR/ns"
    touch "$STORAGE_MNTNS"
    ip netns add "$STORAGE_NETNS"
    ip -n "$STORAGE_NETNS" link set lo up
    for net in "${STORAGE_NETS[@]}"; do
        ip -n "$STORAGE_NETNS" link add "br$net" type bridge
        ip -n "$STORAGE_NETNS" addr add "${NET_STORAGE_IP[$net]}/$NET_PREFIX" dev "br$net"
        ip -n "$STORAGE_NETNS" link set "br$net" up
    done
    nsenter --net="/run/netns/$STORAGE_NETNS" -- \
        unshare --mount="$STORAGE_MNTNS" --propagation private -- sh -ec '
            mount -t sysfs sysfs /sys
            mount -t tmpfs -o mode=0755 storage-run /run
            mkdir -p /run/lock /run/tgtd'
    storage_tgtd_start
}

storage_tgtd_start() {
    local portals="" net
    for net in "${STORAGE_NETS[@]}"; do
        portals+="${portals:+,}portal=${NET_STORAGE_IP[$net]}:$ISCSI_PORT"
    done
    # setsid: tgtd must not share our process group; it ignores SIGTERM (see storage_down).
    setsid nsenter --net="/run/netns/$STORAGE_NETNS" --mount="$STORAGE_MNTNS" -- \
        tgtd -f --iscsi "$portals" > "$LAB_DIR/tgtd.log" 2>&1 < /dev/null 9>&- &
    echo $! > "$LAB_DIR/tgtd.pid"
    disown
    wait_until "$LAB_TGTD_TIMEOUT" "tgtd to answer tgtadm" \
        storage_run tgtadm --lld iscsi --op show --mode sys ||
        die "tgtd did not start; see $LAB_DIR/tgtd.log"
}

storage_down() {
    kill_pidfile "$LAB_DIR/tgtd.pid" KILL
    local pidfile
    for pidfile in "$LAB_DIR"/forward-*.pid; do
        [ -e "$pidfile" ] && kill_pidfile "$pidfile"
    done
    if [ -e "/run/netns/$STORAGE_NETNS" ]; then
        ip netns pids "$STORAGE_NETNS" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
        ip netns del "$STORAGE_NETNS"
    fi
    mountpoint -q "$STORAGE_MNTNS" 2>/dev/null && umount "$STORAGE_MNTNS"
    mountpoint -q "$LAB_DIR/ns" 2>/dev/null && umount "$LAB_DIR/ns"
    return 0
}
