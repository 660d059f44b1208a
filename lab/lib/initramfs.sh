# shellcheck shell=bash
# Build (once per kernel and init script) a tiny initramfs: static busybox, the modules
# needed to mount the host's / over virtio-9p and the guest's own disk (virtio-blk, ext4:
# the overlay's upper layer, kept across guest reboots), and lab/guest/initramfs-init as /init.

INITRAMFS_MODULES=(virtio_pci 9pnet_virtio 9p overlay virtio_rng virtio_net virtio_blk ext4)

initramfs_path() {  # print the cached initramfs for KERNEL_VERSION, building it if needed
    local key out
    key=$(cat "$LAB_SRC/guest/initramfs-init" "$LAB_SRC/lib/initramfs.sh" /bin/busybox |
        sha256sum | cut -c1-12)
    out="$LAB_CACHE/initramfs-$KERNEL_VERSION-$key.cpio.gz"
    if [ ! -s "$out" ]; then
        initramfs_build "$out" || die "cannot build the initramfs ($out)"
        find "$LAB_CACHE" -name 'initramfs-*.cpio.gz' ! -path "$out" -delete  # QEMU copies it at start
    fi
    echo "$out"
}

initramfs_build() {  # initramfs_build OUT
    local out=$1 work module path
    work=$(mktemp -d)
    mkdir -p "$work"/{bin,modules,proc,sys,dev,hostroot,upper,newroot}
    cp /bin/busybox "$work/bin/busybox"
    ln -s busybox "$work/bin/sh"  # for /init's "#!/bin/sh"
    cp "$LAB_SRC/guest/initramfs-init" "$work/init"
    chmod 0755 "$work/init"
    for module in "${INITRAMFS_MODULES[@]}"; do
        modprobe -S "$KERNEL_VERSION" --show-depends "$module" | awk '$1 == "insmod" {print $2}'
    done | awk '!seen[$0]++' | while read -r path; do
        case $path in
            *.ko) cp "$path" "$work/modules/" ;;
            *.ko.xz) xz -dc "$path" > "$work/modules/$(basename "$path" .xz)" ;;
            *.ko.zst) zstd -qdc "$path" > "$work/modules/$(basename "$path" .zst)" ;;
        esac
        path=$(basename "$path"); echo "${path%.ko*}.ko" >> "$work/modules/order"
    done
    mkdir -p "$(dirname "$out")"
    # a name of its own, then an atomic rename: two labs may start at once (tools/molecule.sh's lanes)
    (cd "$work" && find . | cpio -o -H newc --quiet | gzip -1) > "$out.$$.tmp" && mv "$out.$$.tmp" "$out"
    local rc=$?
    rm -rf "$work"
    return "$rc"
}
