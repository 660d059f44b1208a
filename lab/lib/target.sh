# shellcheck shell=bash
# `labctl target`: iSCSI targets and file-backed LUNs on the storage node's tgtd,
# for tests that run without Cinder. Portals: every storage network, port 3260.

tgtadm_run() { storage_run tgtadm --lld iscsi "$@"; }

target_tid() {  # print the tid of target IQN (nothing if it does not exist)
    tgtadm_run --op show --mode target | awk -v iqn="$1" '$1 == "Target" && $3 == iqn {sub(":", "", $2); print $2}'
}

target_lun_exists() {  # target_lun_exists TID LUN
    tgtadm_run --op show --mode target |
        awk -v tid="$1" -v lun="$2" '$1 == "Target" {cur = ($2 == tid ":")} cur && $1 == "LUN:" && $2 == lun {found = 1} END {exit !found}'
}

target_add() {
    local iqn="" lun=1 size=64M chap_user="" chap_password_file="" scsi_id="" tid backing
    while [ $# -gt 0 ]; do
        case $1 in
            --iqn) iqn=$2 ;;
            --lun) lun=$2 ;;
            --scsi-id) scsi_id=$2 ;;
            --size) size=$2 ;;
            --chap-user) chap_user=$2 ;;
            --chap-password-file) chap_password_file=$2 ;;
            *) die "target add: unknown argument '$1'" ;;
        esac
        shift 2 || die "target add: $1 needs a value"
    done
    [ -n "$iqn" ] || die "target add: --iqn is required"
    [[ $lun =~ ^[1-9][0-9]*$ ]] || die "target add: --lun must be a positive number"
    [ -z "$chap_user" ] || [ -r "$chap_password_file" ] ||
        die "target add: --chap-user needs a readable --chap-password-file"
    tid=$(target_tid "$iqn")
    if [ -z "$tid" ]; then
        tid=$(tgtadm_run --op show --mode target | awk '$1 == "Target" {sub(":", "", $2); if ($2 + 0 > max) max = $2 + 0} END {print max + 1}')
        tgtadm_run --op new --mode target --tid "$tid" -T "$iqn" || die "cannot create target $iqn"
        tgtadm_run --op bind --mode target --tid "$tid" -I ALL || die "cannot bind target $iqn"
    fi
    target_lun_exists "$tid" "$lun" && die "target $iqn already has LUN $lun"
    mkdir -p "$LAB_DIR/luns"
    backing="$LAB_DIR/luns/tid$tid-lun$lun.img"
    truncate -s "$size" "$backing" || die "cannot create a $size backing file"
    tgtadm_run --op new --mode logicalunit --tid "$tid" --lun "$lun" -b "$backing" ||
        die "cannot add LUN $lun to $iqn"
    tgtadm_run --op update --mode logicalunit --tid "$tid" --lun "$lun" --params \
        "vendor_id=LAB,product_id=LABDISK,scsi_id=${scsi_id:-lab-$LAB_NAME-$tid-$lun},scsi_sn=LAB$(short_id)T${tid}L$lun" ||
        die "cannot set the SCSI identity of LUN $lun"
    [ -z "$chap_user" ] || target_bind_chap "$tid" "$chap_user" "$chap_password_file"
    echo "target $iqn lun $lun size $size portals $(target_portals) backing $backing"
}

target_bind_chap() {  # target_bind_chap TID USER PASSWORD_FILE (the password is never printed)
    local tid=$1 user=$2 password
    password=$(head -n1 "$3")
    [ -n "$password" ] || die "CHAP password file $3 is empty"
    if ! tgtadm_run --op show --mode account | awk 'NR > 1 {print $1}' | grep -qxF "$user"; then
        tgtadm_run --op new --mode account --user "$user" --password "$password" ||
            die "cannot create CHAP account $user"
    fi
    if ! tgtadm_run --op show --mode target |
        awk -v tid="$tid" -v user="$user" '$1 == "Target" {cur = ($2 == tid ":")} cur && $1 == user {found = 1} END {exit !found}'; then
        tgtadm_run --op bind --mode account --tid "$tid" --user "$user" ||
            die "cannot bind CHAP account $user"
    fi
}

target_portals() {
    local net portals=""
    for net in "${STORAGE_NETS[@]}"; do
        portals+="${portals:+,}${NET_STORAGE_IP[$net]}:$ISCSI_PORT"
    done
    echo "$portals"
}

target_del() {
    local iqn="" lun="" tid
    while [ $# -gt 0 ]; do
        case $1 in
            --iqn) iqn=$2 ;;
            --lun) lun=$2 ;;
            *) die "target del: unknown argument '$1'" ;;
        esac
        shift 2 || die "target del: $1 needs a value"
    done
    [ -n "$iqn" ] || die "target del: --iqn is required"
    tid=$(target_tid "$iqn")
    [ -n "$tid" ] || { log "target $iqn does not exist"; return 0; }
    if [ -n "$lun" ]; then
        target_lun_exists "$tid" "$lun" || { log "target $iqn has no LUN $lun"; return 0; }
        tgtadm_run --op delete --mode logicalunit --tid "$tid" --lun "$lun" ||
            die "cannot delete LUN $lun of $iqn (in use?)"
        rm -f "$LAB_DIR/luns/tid$tid-lun$lun.img"
    else
        tgtadm_run --op delete --mode target --tid "$tid" --force || die "cannot delete target $iqn"
        rm -f "$LAB_DIR/luns/tid$tid-lun"*.img
    fi
}

cmd_target() {
    storage_exists || die "lab '$LAB_NAME' has no storage node (labctl up first)"
    local action=${1:-}
    shift || true
    case $action in
        add) target_add "$@" ;;
        del) target_del "$@" ;;
        list) tgtadm_run --op show --mode target ;;
        *) die "usage: labctl target add|del|list ..." ;;
    esac
}
