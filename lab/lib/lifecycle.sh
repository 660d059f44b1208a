# shellcheck shell=bash
# up, down, status and the ways into the guest and the storage node.

require_root() { [ "$(id -u)" = 0 ] || die "labctl needs root (namespaces, TAP devices, mounts)"; }

lock_lab() {  # serialise up/down of one lab (children are started with fd 9 closed)
    mkdir -p "$LAB_STATE_ROOT"
    exec 9> "$LAB_STATE_ROOT/.$LAB_NAME.lock"
    flock -w 120 9 && return 0
    log "another labctl up/down of '$LAB_NAME' holds $LAB_STATE_ROOT/.$LAB_NAME.lock"
    return 1
}

cmd_up() {
    require_root
    [ -e "/boot/vmlinuz-$KERNEL_VERSION" ] || die "no Debian kernel: install linux-image-amd64"
    local tool
    for tool in qemu-system-x86_64 tgtd tgtadm nsenter unshare ssh ssh-keygen busybox cpio; do
        command -v "$tool" >/dev/null || die "missing $tool (run tools/bootstrap.sh)"
    done
    lock_lab || die "not starting '$LAB_NAME' twice at once"
    pid_alive "$LAB_DIR/qemu.pid" && die "lab '$LAB_NAME' is already up (labctl down first)"
    teardown
    mkdir -p "$LAB_DIR"
    rm -f "$LAB_DIR"/*.log "$LAB_DIR/timings"
    trap 'up_failed' EXIT
    trap 'exit 130' INT TERM
    local start guest guests
    [[ ${LAB_GUESTS:-1} =~ ^[1-9]$ ]] || die "LAB_GUESTS must be 1 to 9, got '$LAB_GUESTS'"
    guests=$(seq 1 "${LAB_GUESTS:-1}")
    start=$(now)
    for guest in $guests; do vm_guest "$guest"; vm_prepare_files; done
    storage_up
    case ${LAB_TARGET:-tgt} in
        tgt) ;;
        lio) lio_start ;;
        *) die "LAB_TARGET must be tgt or lio, got '$LAB_TARGET'" ;;
    esac
    for guest in $guests; do vm_guest "$guest"; vm_start; done
    vm_write_access_files
    for guest in $guests; do
        vm_guest "$guest"
        vm_wait_ssh
        echo "${GUEST_SUFFIX#-}${GUEST_SUFFIX:+_}boot_to_ssh_s $(elapsed "$start")" >> "$LAB_DIR/timings"
    done
    vm_guest 1
    [ "${LAB_TARGET:-tgt}" = lio ] && lio_wait_ssh
    trap - EXIT INT TERM
    vm_ssh_once systemd-analyze time 2>/dev/null |
        sed -n 's/^Startup finished in \([0-9.]*\)s (kernel) + \([0-9.]*\)s (userspace).*/guest_kernel_s \1\nguest_systemd_s \2/p' \
        >> "$LAB_DIR/timings"
    log "lab '$LAB_NAME' up in $(elapsed "$start") s ($(vm_accel_args | cut -d' ' -f2)); inventory: $LAB_DIR/inventory.yml"
}

up_failed() {
    log "up failed; tearing down (logs kept: $LAB_DIR/{console,qemu,tgtd}.log)"
    teardown
}

cmd_down() {
    require_root
    if [ "${1:-}" = --all ]; then
        local dir
        for dir in "$LAB_STATE_ROOT"/*/; do
            [ -d "$dir" ] && LAB_NAME=$(basename "$dir") "$LAB_SRC/labctl" down
        done
        return 0
    fi
    lock_lab || log "tearing down anyway"
    teardown
    log "lab '$LAB_NAME' is down"
}

teardown() {  # stop and remove everything of this lab; keeps keys and logs
    local guest
    for guest in $(vm_guests_all); do vm_guest "$guest"; vm_stop; done
    vm_guest "${LAB_GUEST:-1}"
    lio_stop
    storage_down
    rm -rf "$LAB_DIR/luns" "$LAB_DIR/ns"
    rm -f "$LAB_DIR"/{inventory.yml,ssh_config,ssh.port,guest.env,cuts,disk.img} "$LAB_DIR"/forward-*.port
}

cmd_status() {
    if ! pid_alive "$LAB_DIR/qemu.pid"; then
        echo "lab '$LAB_NAME': down"
        storage_exists && echo "  (storage node $STORAGE_NETNS still exists: run labctl down)"
        return 3
    fi
    echo "lab '$LAB_NAME': up"
    echo "  qemu pid $(cat "$LAB_DIR/qemu.pid"), ssh 127.0.0.1:$(cat "$LAB_DIR/ssh.port")"
    echo "  inventory $LAB_DIR/inventory.yml"
    echo "  storage node netns $STORAGE_NETNS, tgtd pid $(cat "$LAB_DIR/tgtd.pid" 2>/dev/null)"
    lio_running && echo "  LIO target VM: qemu pid $(cat "$LIO_DIR/qemu.pid"), portals $(lio_portals)"
    storage_run ip -br addr | sed 's/^/    /'
    local guest
    for guest in $(vm_guests); do
        vm_guest "$guest"
        echo "  $GUEST_HOST: ssh 127.0.0.1:$(cat "$GUEST_DIR/ssh.port"), $(vm_ssh uptime 2>&1)"
    done
    vm_guest "${LAB_GUEST:-1}"
}

cmd_ssh() {
    require_up
    [ "${1:-}" = -- ] && shift
    vm_ssh "$@"
}

cmd_exec() {
    require_up
    [ "${1:-}" = -- ] && shift
    [ $# -ge 1 ] || die "usage: labctl exec -- CMD..."
    vm_ssh -T -- "$(printf '%q ' "$@")"
}

cmd_storage() {
    storage_exists || die "lab '$LAB_NAME' has no storage node (labctl up first)"
    [ "${1:-}" = -- ] && shift
    [ $# -ge 1 ] || die "usage: labctl storage -- CMD..."
    storage_run "$@"
}

cmd_reboot() {  # reboot the guest from inside, as a real host reboots; print the seconds until ssh is back
    require_up
    local old new start boots to_init=""
    old=$(vm_ssh_once cat /proc/sys/kernel/random/boot_id) || die "no ssh to the guest before the reboot"
    boots=$(grep -ac 'pre-init done' "$GUEST_DIR/console.log")
    start=$(now)
    # The guest's systemd stops its units and resets the machine; QEMU keeps running (no -no-reboot).
    vm_ssh_once systemctl reboot >/dev/null 2>&1
    ssh -F "$LAB_DIR/ssh_config" -O exit "$GUEST_HOST" >/dev/null 2>&1  # the master connection died with the guest
    while :; do
        pid_alive "$GUEST_DIR/qemu.pid" || die "QEMU exited during the reboot; console: $GUEST_DIR/console.log"
        # The shutdown ends (and the boot starts) about when the new boot's pre-init reports on the console.
        if [ -z "$to_init" ] && [ "$(grep -ac 'pre-init done' "$GUEST_DIR/console.log")" -gt "$boots" ]; then
            to_init=$(elapsed "$start")
            echo "reboot_to_init_s $to_init" >> "$LAB_DIR/timings"
        fi
        new=$(vm_ssh_once -o ConnectTimeout=5 cat /proc/sys/kernel/random/boot_id 2>/dev/null)
        [ -n "$new" ] && [ "$new" != "$old" ] && break
        if awk -v a="$start" -v b="$(now)" -v t="$LAB_BOOT_TIMEOUT" 'BEGIN { exit !(b - a > t) }'; then
            log "console log tail:"; tail -20 "$GUEST_DIR/console.log" >&2
            die "no ssh to the rebooted guest after ${LAB_BOOT_TIMEOUT}s (console: $GUEST_DIR/console.log)"
        fi
        sleep 1
    done
    local seconds
    seconds=$(elapsed "$start")
    echo "reboot_to_ssh_s $seconds" >> "$LAB_DIR/timings"
    log "guest rebooted: ssh back $seconds s after 'systemctl reboot' (its pre-init at ${to_init:-?} s)"
    echo "$seconds"
}
