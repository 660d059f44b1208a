# shellcheck shell=bash
# `labctl cut` / `labctl restore`: take one storage network away while IO runs.
#   linkdown: the guest's NIC on that network loses carrier (QEMU set_link off; LAB_GUEST picks the guest)
#   drop:     the storage node silently drops that network's traffic (iptables)
# Active cuts are recorded in $LAB_DIR/cuts ("NET MODE" lines).

netcut_check_net() {
    [[ " ${STORAGE_NETS[*]} " == *" ${1:-} "* ]] || die "network must be one of: ${STORAGE_NETS[*]}"
}

netcut_set_link() {  # netcut_set_link NET true|false
    /usr/bin/python3 "$LAB_SRC/lib/qmp.py" "$GUEST_DIR/qmp.sock" set_link "{\"name\": \"net$1\", \"up\": $2}" >/dev/null
}

netcut_iptables() {  # netcut_iptables -I|-D NET
    storage_run iptables -w "$1" INPUT -i "br$2" -j DROP &&
        storage_run iptables -w "$1" OUTPUT -o "br$2" -j DROP
}

cmd_cut() {
    require_up
    local net=${1:-} mode=linkdown
    netcut_check_net "$net"
    shift
    while [ $# -gt 0 ]; do
        case $1 in
            --mode) mode=${2:-}; shift 2 || die "--mode needs a value" ;;
            *) die "cut: unknown argument '$1'" ;;
        esac
    done
    grep -q "^$net " "$LAB_DIR/cuts" 2>/dev/null && die "network $net is already cut"
    case $mode in
        linkdown) netcut_set_link "$net" false || die "QEMU set_link net$net off failed" ;;
        drop) netcut_iptables -I "$net" || die "cannot add the DROP rules for network $net" ;;
        *) die "cut: --mode must be linkdown or drop" ;;
    esac
    echo "$net $mode" >> "$LAB_DIR/cuts"
    log "network $net cut ($mode)"
}

cmd_restore() {
    require_up
    local net=${1:-} mode
    netcut_check_net "$net"
    mode=$(awk -v net="$net" '$1 == net {print $2}' "$LAB_DIR/cuts" 2>/dev/null)
    [ -n "$mode" ] || { log "network $net is not cut"; return 0; }
    case $mode in
        linkdown) netcut_set_link "$net" true || die "QEMU set_link net$net on failed" ;;
        drop) netcut_iptables -D "$net" || die "cannot remove the DROP rules for network $net" ;;
    esac
    sed -i "/^$net /d" "$LAB_DIR/cuts"
    log "network $net restored"
}
