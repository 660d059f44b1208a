# shellcheck shell=bash
# The guest VM: Debian's stock kernel under QEMU, the host's / as its root (read-only 9p
# under an overlay whose writes go to the guest's own disk), one NIC on each storage bridge,
# ssh through a user-mode NIC. A reboot in the guest resets the machine (QEMU keeps running).
# A lab has LAB_GUESTS guests (default 1): guest 1 is host lab-guest with its state in $LAB_DIR,
# guest N > 1 is lab-guestN in $LAB_DIR/guestN, with its own identity, disk and addresses
# (.9+N on each network). vm_guest N selects the guest the other vm_* functions act on.

vm_guest() {
    [[ ${1:-} =~ ^[1-9]$ ]] || die "a guest number is 1 to 9, got '${1:-}'"
    GUEST=$1
    if [ "$GUEST" = 1 ]; then
        GUEST_DIR=$LAB_DIR GUEST_HOST=lab-guest GUEST_SUFFIX=""
    else
        GUEST_DIR=$LAB_DIR/guest$GUEST GUEST_HOST=lab-guest$GUEST GUEST_SUFFIX=-guest$GUEST
    fi
}

vm_guests() {  # the numbers of the guests this lab runs
    local env
    echo 1
    for env in "$LAB_DIR"/guest[2-9]/guest.env; do
        [ -e "$env" ] && { env=${env%/guest.env}; echo "${env##*guest}"; }
    done
}

vm_guests_all() {  # the guests this lab has ever started (their directories remain after a stop)
    local dir
    echo 1
    for dir in "$LAB_DIR"/guest[2-9]; do
        [ -d "$dir" ] && echo "${dir##*guest}"
    done
}

vm_guest_ip() { echo "${NET_GUEST_IP[$1]%.*}.$((9 + GUEST))"; }  # vm_guest_ip NET
vm_guest_mac() { printf '%s:%02x\n' "${NET_GUEST_MAC[$1]%:*}" $((9 + GUEST)); }  # vm_guest_mac NET

vm_prepare_files() {  # keys and the configuration the guest's pre-init reads
    [ -s "$LAB_DIR/id_ed25519" ] ||
        ssh-keygen -q -t ed25519 -N '' -C "labctl-$LAB_NAME" -f "$LAB_DIR/id_ed25519"
    mkdir -p "$GUEST_DIR"
    [ "$GUEST_DIR" = "$LAB_DIR" ] || cp "$LAB_DIR/id_ed25519.pub" "$GUEST_DIR/id_ed25519.pub"
    [ -s "$GUEST_DIR/ssh_host_ed25519_key" ] ||
        ssh-keygen -q -t ed25519 -N '' -C "$GUEST_HOST-$LAB_NAME" -f "$GUEST_DIR/ssh_host_ed25519_key"
    local nics net
    nics="$USER_NET_MAC $USER_NET_GUEST_IP/${USER_NET#*/}"
    for net in "${STORAGE_NETS[@]}"; do
        nics+=$'\n'"$(vm_guest_mac "$net") $(vm_guest_ip "$net")/$NET_PREFIX"
    done
    # The guest's own disk: the upper layer of its root overlay (see guest/initramfs-init). A new
    # one at every `up` (a new host: pre-init's first boot); kept across `labctl reboot`.
    rm -f "$GUEST_DIR/disk.img"
    if ! truncate -s "$LAB_DISK_SIZE" "$GUEST_DIR/disk.img" ||
        ! mkfs.ext4 -q -F -L lab-upper -E lazy_itable_init=1,lazy_journal_init=1 "$GUEST_DIR/disk.img"; then
        die "cannot make the guest disk $GUEST_DIR/disk.img"
    fi
    cat > "$GUEST_DIR/guest.env" <<EOF
GUEST_HOSTNAME=$GUEST_HOST
INITIATOR_NAME=iqn.2026-11.lab.example:$LAB_NAME-$(short_id)$GUEST_SUFFIX
GUEST_NICS='$nics'
EOF
}

vm_accel_args() {  # print QEMU accelerator arguments: LAB_ACCEL, or KVM if a probe boot works
    local accel=${LAB_ACCEL:-} cache
    if [ -z "$accel" ]; then
        cache="$LAB_CACHE/accel-$KERNEL_VERSION-$(qemu-system-x86_64 --version | head -1 | sha256sum | cut -c1-8)"
        if [ ! -s "$cache" ]; then
            if vm_kvm_probe; then echo kvm; else echo tcg; fi > "$cache.$$" && mv "$cache.$$" "$cache"
        fi
        accel=$(cat "$cache")
    fi
    case $accel in
        kvm) echo "-accel kvm -cpu host" ;;
        tcg) echo "-accel tcg,thread=multi -cpu max" ;;
        *) die "LAB_ACCEL must be kvm or tcg, got '$accel'" ;;
    esac
}

vm_kvm_probe() {  # does the stock kernel boot under KVM here? (it hangs on PVM hosts)
    [ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
    log "probing KVM with a short boot (cached in $LAB_CACHE)"
    timeout 30 qemu-system-x86_64 -accel kvm -cpu host -m 256M -nodefaults -no-user-config \
        -display none -no-reboot -serial stdio -kernel "/boot/vmlinuz-$KERNEL_VERSION" \
        -initrd "$INITRAMFS" -append "console=ttyS0 panic=-1 lab.probe=1" \
        -device virtio-rng-pci < /dev/null 2>&1 | grep -aq LAB-PROBE-OK
}

vm_tap_name() {  # vm_tap_name NET: name while the TAP is still in the root netns (guest 1: labXXXXXXA)
    if [ "$GUEST" = 1 ]; then echo "lab$(short_id)$1"; else echo "lab$(short_id)G$GUEST$1"; fi
}

vm_node_tap_name() {  # vm_node_tap_name NET: name on the storage node (guest 1: tapA)
    if [ "$GUEST" = 1 ]; then echo "tap$1"; else echo "tap$GUEST$1"; fi
}

vm_start() {
    local net accel
    INITRAMFS=$(initramfs_path)
    accel=$(vm_accel_args)
    SSH_PORT=$(free_port)
    echo "$SSH_PORT" > "$GUEST_DIR/ssh.port"
    # shellcheck disable=SC2054  # commas separate QEMU sub-options, not array elements
    local -a args=(
        -name "lab-$LAB_NAME$GUEST_SUFFIX" -machine q35 -smp "$LAB_CPUS" -m "$LAB_MEMORY"
        -nodefaults -no-user-config -display none
        -serial "file:$GUEST_DIR/console.log"
        -qmp "unix:$GUEST_DIR/qmp.sock,server=on,wait=off"
        -pidfile "$GUEST_DIR/qemu.pid" -daemonize
        -kernel "/boot/vmlinuz-$KERNEL_VERSION" -initrd "$INITRAMFS"
        -append "console=ttyS0 net.ifnames=0 panic=-1 quiet loglevel=4 systemd.unit=lab.target systemd.show_status=0 lab.src=$LAB_SRC lab.state=$GUEST_DIR"
        -fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap
        -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
        -device virtio-rng-pci
        -drive "file=$GUEST_DIR/disk.img,if=none,id=disk,format=raw,cache=unsafe,discard=unmap"
        -device virtio-blk-pci,drive=disk
        -netdev "user,id=user,restrict=on,net=$USER_NET,hostfwd=tcp:127.0.0.1:$SSH_PORT-$USER_NET_GUEST_IP:22"
        -device "virtio-net-pci,netdev=user,mac=$USER_NET_MAC"
    )
    for net in "${STORAGE_NETS[@]}"; do
        ip tuntap add dev "$(vm_tap_name "$net")" mode tap
        args+=(-netdev "tap,id=net$net,ifname=$(vm_tap_name "$net"),script=no,downscript=no"
               -device "virtio-net-pci,netdev=net$net,mac=$(vm_guest_mac "$net")")
    done
    # shellcheck disable=SC2086  # $accel is a list of arguments
    qemu-system-x86_64 $accel "${args[@]}" > "$GUEST_DIR/qemu.log" 2>&1 9>&- ||
        die "QEMU did not start: $(tail -5 "$GUEST_DIR/qemu.log")"
    # QEMU holds the TAPs open now; move them onto the storage node's bridges.
    for net in "${STORAGE_NETS[@]}"; do
        ip link set "$(vm_tap_name "$net")" netns "$STORAGE_NETNS"
        ip -n "$STORAGE_NETNS" link set "$(vm_tap_name "$net")" name "$(vm_node_tap_name "$net")"
        ip -n "$STORAGE_NETNS" link set "$(vm_node_tap_name "$net")" master "br$net" up
    done
}

vm_stop() {
    local net
    [ -e "$LAB_DIR/ssh_config" ] &&
        ssh -F "$LAB_DIR/ssh_config" -O exit "$GUEST_HOST" >/dev/null 2>&1
    kill_pidfile "$GUEST_DIR/qemu.pid"
    for net in "${STORAGE_NETS[@]}"; do
        ip link del "$(vm_tap_name "$net")" 2>/dev/null
    done
    rm -f "$GUEST_DIR"/{qmp.sock,ssh.ctl,ssh.port,guest.env,disk.img}
    return 0
}

vm_write_access_files() {  # ssh_config and the Ansible inventory, with every guest of the lab
    local guest port
    : > "$LAB_DIR/ssh_config"
    printf 'all:\n  hosts:\n' > "$LAB_DIR/inventory.yml"
    for guest in $(vm_guests); do
        vm_guest "$guest"
        port=$(cat "$GUEST_DIR/ssh.port")
        cat >> "$LAB_DIR/ssh_config" <<EOF
Host $GUEST_HOST
    HostName 127.0.0.1
    Port $port
    User root
    IdentityFile $LAB_DIR/id_ed25519
    IdentitiesOnly yes
    StrictHostKeyChecking no
    UserKnownHostsFile /dev/null
    LogLevel ERROR
    ConnectTimeout 20
    ServerAliveInterval 10
    ServerAliveCountMax 6
    ControlMaster auto
    ControlPath $GUEST_DIR/ssh.ctl
    ControlPersist 120
EOF
        cat >> "$LAB_DIR/inventory.yml" <<EOF
    $GUEST_HOST:
      ansible_host: 127.0.0.1
      ansible_port: $port
      ansible_user: root
      ansible_ssh_private_key_file: $LAB_DIR/id_ed25519
      ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ServerAliveInterval=10
      ansible_python_interpreter: /usr/bin/python3
      lab_name: $LAB_NAME
      lab_dir: $LAB_DIR
EOF
    done
    vm_guest "${LAB_GUEST:-1}"
}

vm_ssh() { ssh -F "$LAB_DIR/ssh_config" "$GUEST_HOST" "$@"; }
# Without the shared master connection (which would outlive us holding our fds).
vm_ssh_once() { ssh -F "$LAB_DIR/ssh_config" -o ControlMaster=no -o ControlPath=none "$GUEST_HOST" "$@" 9>&-; }

vm_wait_ssh() {
    local start
    start=$(now)
    until vm_ssh_once -o ConnectTimeout=5 true 2>/dev/null; do
        pid_alive "$GUEST_DIR/qemu.pid" || die "QEMU exited during boot; console: $GUEST_DIR/console.log"
        if awk -v a="$start" -v b="$(now)" -v t="$LAB_BOOT_TIMEOUT" 'BEGIN { exit !(b - a > t) }'; then
            log "console log tail:"; tail -20 "$GUEST_DIR/console.log" >&2
            die "no ssh to $GUEST_HOST after ${LAB_BOOT_TIMEOUT}s (console: $GUEST_DIR/console.log)"
        fi
        sleep 1
    done
    log "$GUEST_HOST: ssh ready $(elapsed "$start") s after QEMU start"
}
