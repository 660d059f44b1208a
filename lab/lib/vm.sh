# shellcheck shell=bash
# The guest VM: Debian's stock kernel under QEMU, the host's / as its root (read-only 9p
# under an overlay whose writes go to the guest's own disk), one NIC on each storage bridge,
# ssh through a user-mode NIC. A reboot in the guest resets the machine (QEMU keeps running).

vm_prepare_files() {  # keys and the configuration the guest's pre-init reads
    [ -s "$LAB_DIR/id_ed25519" ] ||
        ssh-keygen -q -t ed25519 -N '' -C "labctl-$LAB_NAME" -f "$LAB_DIR/id_ed25519"
    [ -s "$LAB_DIR/ssh_host_ed25519_key" ] ||
        ssh-keygen -q -t ed25519 -N '' -C "lab-guest-$LAB_NAME" -f "$LAB_DIR/ssh_host_ed25519_key"
    local nics net
    nics="$USER_NET_MAC $USER_NET_GUEST_IP/${USER_NET#*/}"
    for net in "${STORAGE_NETS[@]}"; do
        nics+=$'\n'"${NET_GUEST_MAC[$net]} ${NET_GUEST_IP[$net]}/$NET_PREFIX"
    done
    # The guest's own disk: the upper layer of its root overlay (see guest/initramfs-init). A new
    # one at every `up` (a new host: pre-init's first boot); kept across `labctl reboot`.
    rm -f "$LAB_DIR/disk.img"
    if ! truncate -s "$LAB_DISK_SIZE" "$LAB_DIR/disk.img" ||
        ! mkfs.ext4 -q -F -L lab-upper -E lazy_itable_init=1,lazy_journal_init=1 "$LAB_DIR/disk.img"; then
        die "cannot make the guest disk $LAB_DIR/disk.img"
    fi
    cat > "$LAB_DIR/guest.env" <<EOF
GUEST_HOSTNAME=lab-guest
INITIATOR_NAME=iqn.2026-11.lab.example:$LAB_NAME-$(short_id)
GUEST_NICS='$nics'
EOF
}

vm_accel_args() {  # print QEMU accelerator arguments: LAB_ACCEL, or KVM if a probe boot works
    local accel=${LAB_ACCEL:-} cache
    if [ -z "$accel" ]; then
        cache="$LAB_CACHE/accel-$KERNEL_VERSION-$(qemu-system-x86_64 --version | head -1 | sha256sum | cut -c1-8)"
        if [ ! -s "$cache" ]; then
            if vm_kvm_probe; then echo kvm > "$cache"; else echo tcg > "$cache"; fi
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

vm_tap_name() { echo "lab$(short_id)$1"; }  # name while the TAP is still in the root netns

vm_start() {
    local net accel
    INITRAMFS=$(initramfs_path)
    accel=$(vm_accel_args)
    SSH_PORT=$(free_port)
    echo "$SSH_PORT" > "$LAB_DIR/ssh.port"
    # shellcheck disable=SC2054  # commas separate QEMU sub-options, not array elements
    local -a args=(
        -name "lab-$LAB_NAME" -machine q35 -smp "$LAB_CPUS" -m "$LAB_MEMORY"
        -nodefaults -no-user-config -display none
        -serial "file:$LAB_DIR/console.log"
        -qmp "unix:$LAB_DIR/qmp.sock,server=on,wait=off"
        -pidfile "$LAB_DIR/qemu.pid" -daemonize
        -kernel "/boot/vmlinuz-$KERNEL_VERSION" -initrd "$INITRAMFS"
        -append "console=ttyS0 net.ifnames=0 panic=-1 quiet loglevel=4 systemd.unit=lab.target systemd.show_status=0 lab.src=$LAB_SRC lab.state=$LAB_DIR"
        -fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap
        -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
        -device virtio-rng-pci
        -drive "file=$LAB_DIR/disk.img,if=none,id=disk,format=raw,cache=unsafe,discard=unmap"
        -device virtio-blk-pci,drive=disk
        -netdev "user,id=user,restrict=on,net=$USER_NET,hostfwd=tcp:127.0.0.1:$SSH_PORT-$USER_NET_GUEST_IP:22"
        -device "virtio-net-pci,netdev=user,mac=$USER_NET_MAC"
    )
    for net in "${STORAGE_NETS[@]}"; do
        ip tuntap add dev "$(vm_tap_name "$net")" mode tap
        args+=(-netdev "tap,id=net$net,ifname=$(vm_tap_name "$net"),script=no,downscript=no"
               -device "virtio-net-pci,netdev=net$net,mac=${NET_GUEST_MAC[$net]}")
    done
    # shellcheck disable=SC2086  # $accel is a list of arguments
    qemu-system-x86_64 $accel "${args[@]}" > "$LAB_DIR/qemu.log" 2>&1 9>&- ||
        die "QEMU did not start: $(tail -5 "$LAB_DIR/qemu.log")"
    # QEMU holds the TAPs open now; move them onto the storage node's bridges.
    for net in "${STORAGE_NETS[@]}"; do
        ip link set "$(vm_tap_name "$net")" netns "$STORAGE_NETNS"
        ip -n "$STORAGE_NETNS" link set "$(vm_tap_name "$net")" name "tap$net"
        ip -n "$STORAGE_NETNS" link set "tap$net" master "br$net" up
    done
}

vm_stop() {
    local net
    [ -e "$LAB_DIR/ssh_config" ] &&
        ssh -F "$LAB_DIR/ssh_config" -O exit lab-guest >/dev/null 2>&1
    kill_pidfile "$LAB_DIR/qemu.pid"
    for net in "${STORAGE_NETS[@]}"; do
        ip link del "$(vm_tap_name "$net")" 2>/dev/null
    done
    rm -f "$LAB_DIR/qmp.sock" "$LAB_DIR/ssh.ctl"
    return 0
}

vm_write_access_files() {  # ssh_config and the Ansible inventory
    cat > "$LAB_DIR/ssh_config" <<EOF
Host lab-guest
    HostName 127.0.0.1
    Port $SSH_PORT
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
    ControlPath $LAB_DIR/ssh.ctl
    ControlPersist 120
EOF
    cat > "$LAB_DIR/inventory.yml" <<EOF
all:
  hosts:
    lab-guest:
      ansible_host: 127.0.0.1
      ansible_port: $SSH_PORT
      ansible_user: root
      ansible_ssh_private_key_file: $LAB_DIR/id_ed25519
      ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ServerAliveInterval=10
      ansible_python_interpreter: /usr/bin/python3
      lab_name: $LAB_NAME
      lab_dir: $LAB_DIR
EOF
}

vm_ssh() { ssh -F "$LAB_DIR/ssh_config" lab-guest "$@"; }
# Without the shared master connection (which would outlive us holding our fds).
vm_ssh_once() { ssh -F "$LAB_DIR/ssh_config" -o ControlMaster=no -o ControlPath=none lab-guest "$@" 9>&-; }

vm_wait_ssh() {
    local start
    start=$(now)
    until vm_ssh_once -o ConnectTimeout=5 true 2>/dev/null; do
        pid_alive "$LAB_DIR/qemu.pid" || die "QEMU exited during boot; console: $LAB_DIR/console.log"
        if awk -v a="$start" -v b="$(now)" -v t="$LAB_BOOT_TIMEOUT" 'BEGIN { exit !(b - a > t) }'; then
            log "console log tail:"; tail -20 "$LAB_DIR/console.log" >&2
            die "no ssh to the guest after ${LAB_BOOT_TIMEOUT}s (console: $LAB_DIR/console.log)"
        fi
        sleep 1
    done
    log "ssh ready $(elapsed "$start") s after QEMU start"
}
