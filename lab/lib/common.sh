# shellcheck shell=bash disable=SC2034  # the settings are used by the other lib/*.sh
# Shared settings and helpers of labctl. State of lab NAME: $LAB_ROOT/.lab/NAME/.

LAB_NAME=${LAB_NAME:-lab}
[[ $LAB_NAME =~ ^[a-z][a-z0-9-]{0,19}$ ]] ||
    { echo "labctl: LAB_NAME must match [a-z][a-z0-9-]{0,19}, got '$LAB_NAME'" >&2; exit 2; }
LAB_ROOT=$(cd "$LAB_SRC/.." && pwd)
LAB_STATE_ROOT=$LAB_ROOT/.lab
LAB_CACHE=$LAB_STATE_ROOT/.cache
LAB_DIR=$LAB_STATE_ROOT/$LAB_NAME
KERNEL_VERSION=${LAB_KERNEL:-$(find /lib/modules -mindepth 1 -maxdepth 1 -name '*-amd64' -printf '%f\n' | sort -V | tail -1)}

# Timeouts (seconds); TCG on a busy 2-core machine is slow, so they are generous.
LAB_BOOT_TIMEOUT=${LAB_BOOT_TIMEOUT:-300}
LAB_TGTD_TIMEOUT=${LAB_TGTD_TIMEOUT:-30}
LAB_CPUS=${LAB_CPUS:-2}
LAB_MEMORY=${LAB_MEMORY:-1536M}
LAB_DISK_SIZE=${LAB_DISK_SIZE:-4G}  # sparse: only what the guest writes takes space

# Storage networks: name, subnet prefix, storage-node address, guest address, guest MAC.
STORAGE_NETS=(A B)
declare -A NET_STORAGE_IP=([A]=192.0.2.1 [B]=198.51.100.1)
declare -A NET_GUEST_IP=([A]=192.0.2.10 [B]=198.51.100.10)
declare -A NET_GUEST_MAC=([A]=52:54:00:00:0a:0a [B]=52:54:00:00:0b:0a)
NET_PREFIX=24
# The LIO target VM (labctl lio; LAB_TARGET=lio labctl up): one NIC on each storage network.
declare -A NET_LIO_IP=([A]=192.0.2.2 [B]=198.51.100.2)
declare -A NET_LIO_MAC=([A]=52:54:00:00:0a:02 [B]=52:54:00:00:0b:02)
LIO_MEMORY=${LIO_MEMORY:-320M}
LIO_DIR=$LAB_DIR/lio
USER_NET_MAC=52:54:00:00:cb:0a
USER_NET=203.0.113.0/24
USER_NET_GUEST_IP=203.0.113.10
ISCSI_PORT=3260

STORAGE_NETNS=$LAB_NAME-storage
STORAGE_MNTNS=$LAB_DIR/ns/mnt

log() { printf '%s labctl[%s]: %s\n' "$(date +%T)" "$LAB_NAME" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

wait_until() {  # wait_until TIMEOUT DESCRIPTION CMD...: poll CMD every 0.5 s
    local timeout=$1 what=$2 start
    shift 2
    start=$(now)
    until "$@" >/dev/null 2>&1; do
        if awk -v a="$start" -v b="$(now)" -v t="$timeout" 'BEGIN { exit !(b - a > t) }'; then
            log "timed out after ${timeout}s waiting for $what"
            return 1
        fi
        sleep 0.5
    done
}

pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

kill_pidfile() {  # kill_pidfile FILE [SIGNAL]: stop the process, wait up to 10 s, then SIGKILL
    local file=$1 signal=${2:-TERM} pid
    [ -s "$file" ] || { rm -f "$file"; return 0; }
    pid=$(cat "$file")
    if kill -0 "$pid" 2>/dev/null; then
        kill "-$signal" "$pid" 2>/dev/null
        wait_until 10 "pid $pid to exit" eval "! kill -0 $pid" || kill -KILL "$pid" 2>/dev/null
    fi
    rm -f "$file"
}

require_up() {
    pid_alive "$LAB_DIR/qemu.pid" ||
        die "lab '$LAB_NAME' is not running (start it with: LAB_NAME=$LAB_NAME lab/labctl up)"
}

free_port() {  # print a free TCP port on 127.0.0.1
    /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

short_id() {  # short stable id of this lab, for names that live briefly in the root netns
    printf '%s' "$LAB_ROOT/$LAB_NAME" | sha256sum | cut -c1-6
}
