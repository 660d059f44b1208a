# shellcheck shell=bash
# The LIO target VM: a second small VM on the same Debian kernel and 9p root as the guest, with one
# NIC on each storage bridge (192.0.2.2, 198.51.100.2) and the kernel's iSCSI target (LIO), for
# scenarios that need a target other than tgtd. Booted only on request: `LAB_TARGET=lio labctl up`
# or `labctl lio up` on a running lab. labctl reaches it by ssh from the storage node over network A;
# lab/guest/lio-config (run there) writes configfs.

lio_tap_name() { echo "lab$(short_id)L$1"; }

lio_running() { pid_alive "$LIO_DIR/qemu.pid"; }

lio_prepare_files() {
    local nics="" net
    mkdir -p "$LIO_DIR"
    cp "$LAB_DIR/id_ed25519.pub" "$LIO_DIR/id_ed25519.pub"
    [ -s "$LIO_DIR/ssh_host_ed25519_key" ] ||
        ssh-keygen -q -t ed25519 -N '' -C "lab-lio-$LAB_NAME" -f "$LIO_DIR/ssh_host_ed25519_key"
    for net in "${STORAGE_NETS[@]}"; do
        nics+="${nics:+$'\n'}${NET_LIO_MAC[$net]} ${NET_LIO_IP[$net]}/$NET_PREFIX"
    done
    cat > "$LIO_DIR/guest.env" <<EOT
GUEST_HOSTNAME=lab-lio
GUEST_ROLE=lio
INITIATOR_NAME=iqn.2026-11.lab.example:$LAB_NAME-lio
GUEST_NICS='$nics'
EOT
}

lio_start() {  # boot the target VM (returns at once; lio_wait_ssh waits for it)
    local net accel
    lio_prepare_files
    INITRAMFS=$(initramfs_path)
    accel=$(vm_accel_args)
    # shellcheck disable=SC2054  # commas separate QEMU sub-options, not array elements
    local -a args=(
        -name "lab-$LAB_NAME-lio" -machine q35 -smp 1 -m "$LIO_MEMORY"
        -nodefaults -no-user-config -display none -no-reboot
        -serial "file:$LIO_DIR/console.log" -pidfile "$LIO_DIR/qemu.pid" -daemonize
        -kernel "/boot/vmlinuz-$KERNEL_VERSION" -initrd "$INITRAMFS"
        -append "console=ttyS0 net.ifnames=0 panic=-1 quiet loglevel=4 lab.src=$LAB_SRC lab.state=$LIO_DIR"
        -fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap
        -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
        -device virtio-rng-pci
    )
    for net in "${STORAGE_NETS[@]}"; do
        ip tuntap add dev "$(lio_tap_name "$net")" mode tap
        args+=(-netdev "tap,id=net$net,ifname=$(lio_tap_name "$net"),script=no,downscript=no"
               -device "virtio-net-pci,netdev=net$net,mac=${NET_LIO_MAC[$net]}")
    done
    # shellcheck disable=SC2086  # $accel is a list of arguments
    qemu-system-x86_64 $accel "${args[@]}" > "$LIO_DIR/qemu.log" 2>&1 9>&- ||
        die "QEMU (LIO target) did not start: $(tail -5 "$LIO_DIR/qemu.log")"
    for net in "${STORAGE_NETS[@]}"; do
        ip link set "$(lio_tap_name "$net")" netns "$STORAGE_NETNS"
        ip -n "$STORAGE_NETNS" link set "$(lio_tap_name "$net")" name "lio$net"
        ip -n "$STORAGE_NETNS" link set "lio$net" master "br$net" up
    done
    LIO_STARTED=$(now)
}

lio_stop() {
    local net
    kill_pidfile "$LIO_DIR/qemu.pid"
    for net in "${STORAGE_NETS[@]}"; do
        ip link del "$(lio_tap_name "$net")" 2>/dev/null
    done
    rm -f "$LIO_DIR/guest.env"
    return 0
}

lio_ssh() {  # run a command in the target VM (from the storage node, over network A)
    storage_run ssh -F /dev/null -i "$LAB_DIR/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes \
        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10 \
        "root@${NET_LIO_IP[A]}" "$@" 9>&-
}

lio_wait_ssh() {
    local start=${LIO_STARTED:-$(now)}
    until lio_ssh true 2>/dev/null; do
        lio_running || die "the LIO target VM exited during boot; console: $LIO_DIR/console.log"
        if awk -v a="$start" -v b="$(now)" -v t="$LAB_BOOT_TIMEOUT" 'BEGIN { exit !(b - a > t) }'; then
            tail -20 "$LIO_DIR/console.log" >&2
            die "no ssh to the LIO target VM after ${LAB_BOOT_TIMEOUT}s (console: $LIO_DIR/console.log)"
        fi
        sleep 1
    done
    log "LIO target VM ready $(elapsed "$start") s after QEMU start"
    echo "lio_boot_to_ssh_s $(elapsed "$start")" >> "$LAB_DIR/timings"
}

lio_portals() {  # "IP:PORT IP:PORT"
    local net portals=""
    for net in "${STORAGE_NETS[@]}"; do
        portals+="${portals:+ }${NET_LIO_IP[$net]}:$ISCSI_PORT"
    done
    echo "$portals"
}

lio_secret() {  # lio_secret KEY FILE: a KEY=VALUE line for lio-config's stdin (the value is never printed)
    local value
    [ -r "$2" ] || die "lio target add: cannot read $2"
    value=$(head -n1 "$2")
    [ -n "$value" ] || die "lio target add: $2 is empty"
    printf '%s=%s\n' "$1" "$value"
}

lio_target_add() {
    local iqn="" lun=1 size=64M serial="" alua="" bytes secrets="" option key
    local -A users=() files=()
    while [ $# -gt 0 ]; do
        option=$1
        case $option in
            --iqn) iqn=$2 ;;
            --lun) lun=$2 ;;
            --size) size=$2 ;;
            --serial) serial=$2 ;;
            --alua) alua=1; shift; continue ;;
            --chap-user | --mutual-user | --discovery-user | --discovery-mutual-user) users[${option#--}]=$2 ;;
            --chap-password-file | --mutual-password-file | --discovery-password-file | --discovery-mutual-password-file)
                files[${option#--}]=$2 ;;
            *) die "lio target add: unknown argument '$1'" ;;
        esac
        shift 2 || die "lio target add: $option needs a value"
    done
    [ -n "$iqn" ] || die "lio target add: --iqn is required"
    [[ $lun =~ ^[0-9]+$ ]] || die "lio target add: --lun must be a number"
    bytes=$(numfmt --from=iec "$size") || die "lio target add: bad --size '$size'"
    # LIO derives the NAA WWID from the hex digits of the unit serial: give each LUN 32 of its own.
    [ -n "$serial" ] || serial=$(printf 'lio %s %s %s' "$LAB_ROOT/$LAB_NAME" "$iqn" "$lun" | md5sum | cut -c1-32)
    local -A env_of=([chap]=CHAP [mutual]=MUTUAL [discovery]=DISCOVERY [discovery-mutual]=DISCOVERY_MUTUAL)
    local user file
    for key in chap mutual discovery discovery-mutual; do
        user=${users[$key-user]:-} file=${files[$key-password-file]:-}
        [ -z "$user$file" ] && continue
        { [ -n "$user" ] && [ -n "$file" ]; } || die "lio target add: --$key-user and --$key-password-file go together"
        secrets+="${env_of[$key]}_USER=$user"$'\n'
        secrets+="$(lio_secret "${env_of[$key]}_PASSWORD" "$file")"$'\n'
    done
    printf '%s' "$secrets" | lio_ssh "$(printf '%q ' "$LAB_SRC/guest/lio-config" add --iqn "$iqn" --lun "$lun" \
        --size "$bytes" --serial "$serial" --portals "$(lio_portals)" ${alua:+--alua 1})" ||
        die "lio target add failed"
    echo "lio target $iqn lun $lun size $size serial $serial portals $(lio_portals | tr ' ' ,)${alua:+ alua}"
}

cmd_lio() {
    storage_exists || die "lab '$LAB_NAME' has no storage node (labctl up first)"
    local action=${1:-} sub
    shift || true
    case $action in
        up)
            lio_running && die "the LIO target VM of '$LAB_NAME' is already up"
            lio_start
            lio_wait_ssh
            ;;
        down) lio_stop ;;
        ssh) [ "${1:-}" = -- ] && shift; lio_ssh "$@" ;;
        target)
            lio_running || die "the LIO target VM is not running (labctl lio up)"
            sub=${1:-}
            shift || true
            case $sub in
                add) lio_target_add "$@" ;;
                del) lio_ssh "$(printf '%q ' "$LAB_SRC/guest/lio-config" del "$@")" < /dev/null ;;
                list) lio_ssh "$LAB_SRC/guest/lio-config" list < /dev/null ;;
                *) die "usage: labctl lio target add|del|list ..." ;;
            esac
            ;;
        *) die "usage: labctl lio up|down|ssh|target ..." ;;
    esac
}
