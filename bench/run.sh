#!/usr/bin/env bash
# bench/run.sh [--quick]: the collection vs os-brick 7.1.1 on one lab VM, same tgt targets,
# same connection_info, in one run. Writes bench/results.md and bench/results.json
# (--quick: 1 run each, scale 1 and 16, no module chain and no strace pass - only the goals' rows; results only under
# .cache/bench/<stamp>/).
# Last (not in --quick, whose 20 minutes it does not fit), the second anchor: playbooks/attach_volume.yml against
# `cinder local-attach`, real Cinder (lab/openstack).
# Everything that touches the data path runs inside the lab guest (bench/guest/*.py).
set -euo pipefail
cd "$(dirname "$0")/.."
exec 9>"${LAB_LOCK:-/tmp/cinder-local-lab.lock}"  # one lab user at a time (see tools/molecule.sh)
flock 9
REPO=$PWD
QUICK=0
[ "${1:-}" = --quick ] && QUICK=1
export LAB_NAME=${LAB_NAME:-bench}
RUNS=${BENCH_RUNS:-$([ $QUICK = 1 ] && echo 1 || echo 5)}
SLOW_RUNS=${BENCH_SLOW_RUNS:-$RUNS}          # stall and dead-portal runs (each takes minutes)
SCALE_RUNS=${BENCH_SCALE_RUNS:-$RUNS}        # rounds of every scale
CHAIN_RUNS=${BENCH_CHAIN_RUNS:-$(((1 - QUICK) * RUNS))}  # cycles of the module chain (iscsi_session + multipath_device)
ROLE_RUNS=${BENCH_ROLE_RUNS:-$RUNS}          # cycles of the volume_attach/volume_detach roles
ROLE_VARIANTS=${BENCH_ROLE_VARIANTS:-1}      # 0: dead portal and scale through iscsi_volume only
ANCHOR=${BENCH_ANCHOR:-$((1 - QUICK))}       # the second anchor (attach_volume.yml vs cinder local-attach): 1 runs it
TRACE=${BENCH_TRACE:-$((1 - QUICK))}         # the strace pass (command counts, peak memory): 1 runs it
DEADLINE=${BENCH_DEADLINE:-}                 # date(1) time after which no new measurement starts
SCALES=${BENCH_SCALES:-$([ $QUICK = 1 ] && echo "1 16" || echo "1 4 16")}
VOLUMES=$(tr ' ' '\n' <<< "$SCALES" | sort -n | tail -1)
OUT=$REPO/.cache/bench/$(date -u +%Y%m%dT%H%M%SZ)
RAW=$OUT/raw.jsonl
GUEST=$REPO/bench/guest
OSB_PY=$REPO/.venv-openstack/bin/python
LA_VENV=$REPO/.venv-local-attach             # python-brick-cinderclient-ext (requirements/bench-local-attach.txt)
LABCTL=$REPO/lab/labctl
OPENSTACK_LAB=$REPO/lab/openstack/openstack-lab
PORTAL_A=192.0.2.1:3260
PORTAL_B=198.51.100.1:3260
IQN_PREFIX=iqn.2010-10.org.openstack:volume-bench
mkdir -p "$OUT/ci"

log() { printf '%s bench: %s\n' "$(date -u +%T)" "$*" >&2; }
g() { "$LABCTL" exec -- "$@"; }                    # run in the guest
meta() { jq -cn --arg k "$1" --arg v "$2" '{meta: {($k): $v}}' >> "$RAW"; }
note() { jq -cn --arg n "$*" '{note: $n}' >> "$RAW"; }
add() { python3 bench/samples.py "$@" >> "$RAW"; }  # add KIND APPROACH [N] < driver json
ci() { printf '%s/ci/vol-%02d.json' "$OUT" "$1"; }
volume_id() { printf '00000000-0000-4000-8000-%012d' "$1"; }
iqn() { printf '%s-%02d' "$IQN_PREFIX" "$1"; }
with_ci() {  # with_ci FIRST LAST CMD...: CMD ... --ci vol-FIRST.json ... --ci vol-LAST.json
    local first=$1 last=$2 i
    shift 2
    local -a args=("$@")
    for i in $(seq "$first" "$last"); do args+=(--ci "$(ci "$i")"); done
    "${args[@]}"
}

# ansible-playbook runs on this host as the controller and reaches the guest over ssh, as AWX does
ours() { python3 "$GUEST/ours_driver.py" --collections "$OUT/collections" --inventory "$("$LABCTL" inventory)" "$@"; }
osbrick() { g "$OSB_PY" "$GUEST/osbrick_driver.py" "$@" 2> >(grep -v -i eventlet >&2); }

make_collection() {  # the committed collection, as ansible_collections/cinder_local/iscsi_multipath
    local dest=$OUT/collections/ansible_collections/cinder_local/iscsi_multipath
    mkdir -p "$dest" "$OUT/collections-cinder"
    git archive HEAD galaxy.yml meta plugins roles playbooks | tar -x -C "$dest"
    cp -a "$OUT/collections/ansible_collections" "$OUT/collections-cinder/"  # the anchor's: real Cinder
    # The roles ask Cinder for connection_info: answer from the same files os-brick gets.
    cp bench/ansible/cinder_stub.py "$dest/plugins/modules/cinder_attachment.py"
    meta collection_commit "$(git rev-parse --short HEAD)"
}

make_volumes() {  # connection_info files (Cinder's shape, CHAP) written before the guest boots
    local i secret
    secret=$(head -c 12 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
    umask 077
    printf '%s' "$secret" > "$OUT/chap.pw"
    for i in $(seq 1 "$VOLUMES"); do
        jq -n --arg iqn "$(iqn "$i")" --arg a "$PORTAL_A" --arg b "$PORTAL_B" --arg pw "$secret" \
            --arg user "bench$i" --arg id "$(volume_id "$i")" '{driver_volume_type: "iscsi", data: {
                target_discovered: false, target_portal: $a, target_iqn: $iqn, target_lun: 1,
                target_portals: [$a, $b], target_iqns: [$iqn, $iqn], target_luns: [1, 1],
                auth_method: "CHAP", auth_username: $user, auth_password: $pw,
                volume_id: $id, access_mode: "rw", encrypted: false}}' > "$(ci "$i")"
        cp "$(ci "$i")" "$OUT/ci/$(volume_id "$i").json"  # what the Cinder stand-in reads
    done
    umask 022
}

lab_up() {
    "$LABCTL" up
    local i
    for i in $(seq 1 "$VOLUMES"); do
        "$LABCTL" target add --iqn "$(iqn "$i")" --lun 1 --size 64M \
            --chap-user "bench$i" --chap-password-file "$OUT/chap.pw" >/dev/null
    done
    # The guest's /root is its own tmpfs: show it the host's pyenv, which the venvs point into.
    g sh -c "mkdir -p /tmp/bench /mnt/bench-root /root/.pyenv && mount --bind / /mnt/bench-root &&
        mount -o bind,ro /mnt/bench-root/root/.pyenv /root/.pyenv && umount /mnt/bench-root"
    meta kernel "$(g uname -r)"
    meta accel "$(ps -o args= -p "$(cat "$REPO/.lab/$LAB_NAME/qemu.pid")" | grep -o 'accel [a-z]*' | cut -d' ' -f2)"
}

save() { tee "$OUT/$1.json"; }  # keep every driver output next to the raw samples

# IO stall + path back: direct IO on the map while network B is cut, then restored.
stall_run() {  # stall_run APPROACH TAG
    local approach=$1 tag=$2 dev portal net
    if [ "$approach" = ours ]; then with_ci 1 1 ours attach --mode volume --state "$OUT/ours-state.json" > /dev/null
    else with_ci 1 1 osbrick attach > /dev/null; fi
    dev=$(g python3 "$GUEST/mpstate.py" wait "target:$(iqn 1)/1" --paths 2 | jq -r .dev)
    [ -n "$dev" ] && [ "$dev" != null ] || return 1
    # Cut the network that carries IO (with failover grouping the other path is idle).
    portal=$(g python3 "$GUEST/mpstate.py" io-portal "$dev" | jq -r .portal)
    net=B
    [ "${portal%%:*}" = "${PORTAL_A%%:*}" ] && net=A
    [ "$portal" != null ] || portal=$PORTAL_B
    note "stall $approach $tag: cut network $net (portal $portal carried IO)"
    g sh -c "rm -f /tmp/bench/*.stop /tmp/bench/io.ready
        setsid python3 $REPO/lab/guest/iocheck.py $dev --prefill --ready-file /tmp/bench/io.ready \
            --stop-file /tmp/bench/io.stop > /tmp/bench/io.json 2>&1 < /dev/null &
        echo \$! > /tmp/bench/io.pid
        setsid python3 $GUEST/mpstate.py watch $dev --portal $portal \
            --stop-file /tmp/bench/watch.stop > /tmp/bench/watch.json 2>&1 < /dev/null &
        echo \$! > /tmp/bench/watch.pid
        for i in \$(seq 600); do [ -e /tmp/bench/io.ready ] && exit 0; sleep 0.2; done; exit 1"
    sleep 3
    "$LABCTL" cut "$net" --mode drop
    g python3 "$GUEST/mpstate.py" wait "$dev" --paths 2 --down --timeout 300 > /dev/null
    sleep 3
    "$LABCTL" restore "$net"
    g python3 "$GUEST/mpstate.py" wait "$dev" --paths 2 --timeout 300 > /dev/null
    sleep 1
    g sh -c "touch /tmp/bench/io.stop /tmp/bench/watch.stop
        while kill -0 \$(cat /tmp/bench/io.pid) 2> /dev/null ||
            kill -0 \$(cat /tmp/bench/watch.pid) 2> /dev/null; do
            sleep 0.2
        done
        jq -c -n --slurpfile io /tmp/bench/io.json --slurpfile watch /tmp/bench/watch.json \
            '{io: \$io[0], watch: \$watch[0]}'" | save "stall-$approach-$tag" | add stall "$approach"
    detach "$approach" volume > /dev/null
}

detach() {  # detach APPROACH MODE
    if [ "$1" = ours ]; then ours detach --mode "$2" --state "$OUT/ours-state.json"
    else osbrick detach --state /tmp/bench/osbrick-state.json; fi
}

attach() {  # attach APPROACH MODE FIRST LAST [PATHS]
    if [ "$1" = ours ]; then with_ci "$3" "$4" ours attach --mode "$2" --paths "${5:-2}" --state "$OUT/ours-state.json"
    else with_ci "$3" "$4" osbrick attach --paths "${5:-2}"; fi
}

# One measurement = a driver run piped into save + add; a failed one is logged, noted in the
# results and cleaned up after, and the run goes on with the next.
measure() {  # measure DESCRIPTION FUNCTION ARGS...
    local what=$1
    shift
    if [ -n "$DEADLINE" ] && [ "$(date +%s)" -ge "$(date -d "$DEADLINE" +%s)" ]; then
        log "skipped (deadline $DEADLINE): $what"
        note "not run (deadline $DEADLINE reached): $what"
        return 0
    fi
    log "$what"
    if ! "$@"; then
        log "FAILED: $what (see $OUT/*.json)"
        note "failed, no sample: $what"
        cleanup_guest
    fi
}

cleanup_guest() {  # after a failure: no map, session or node record may leak into the next one
    "$LABCTL" restore A > /dev/null 2>&1 || true
    "$LABCTL" restore B > /dev/null 2>&1 || true
    g sh -c "kill \$(cat /tmp/bench/io.pid /tmp/bench/watch.pid); multipath -F; iscsiadm -m node -u
        iscsiadm -m node -o delete; rm -rf /var/lib/cinder_local/attachments" > /dev/null 2>&1 || true
}

cycle() {  # cycle APPROACH MODE RUNS TAG
    local runs=$3 tag=$4
    if [ "$1" = ours ] && [ "$2" = role ]; then
        with_ci 1 1 ours cycle --mode role --runs "$runs" | save "cycle-ours-role-$tag" \
            | add cycle ours --prefix role_
    elif [ "$1" = ours ] && [ "$2" = modules ]; then
        with_ci 1 1 ours cycle --mode modules --runs "$runs" | save "cycle-ours-chain-$tag" \
            | add cycle ours --prefix chain_
    elif [ "$1" = ours ]; then
        with_ci 1 1 ours cycle --mode volume --runs "$runs" | save "cycle-ours-$tag" | add cycle ours
    else with_ci 1 1 osbrick cycle --runs "$runs" | save "cycle-osbrick-$tag" | add cycle os_brick; fi
}

task_cost() {  # Ansible's own cost of a task on this guest, RUNS times
    ours overhead --runs "$RUNS" | save task-cost | add overhead ours
}

dead_portal() {  # dead_portal APPROACH MODE PREFIX TAG (network B is already cut)
    attach "$1" "$2" 1 1 1 | save "dead-$1-$2-$4" | add dead "$1" --prefix "$3" &&
        detach "$1" "$2" > /dev/null
}

scale() {  # scale APPROACH MODE PREFIX N TAG
    attach "$1" "$2" 1 "$4" | save "scale-$1-$2-$4-$5" | add scale "$1" "$4" --prefix "$3" &&
        detach "$1" "$2" | save "scale-detach-$1-$2-$4-$5" | add scale "$1" "$4" --prefix "$3"
}

trace_ours() {
    g sh -c "rm -f /tmp/bench/module-rss.txt
        strace -f -ttt -qq -s 64 -e trace=execve,exit_group -o /tmp/bench/trace-ours.txt \
            python3 $GUEST/ours_driver.py --collections $OUT/collections --interpreter $GUEST/pyrss.sh \
            cycle --mode volume --runs 1 --paths 0 --ci $(ci 1) > /dev/null
        python3 $GUEST/cmdcount.py /tmp/bench/trace-ours.txt --rss /tmp/bench/module-rss.txt" \
        | save trace-ours | add trace ours
}

trace_osbrick() {
    g sh -c "strace -f -ttt -qq -s 64 -e trace=execve,exit_group -o /tmp/bench/trace-osbrick.txt \
            $OSB_PY $GUEST/osbrick_driver.py cycle --runs 1 --paths 0 --ci $(ci 1) \
            > /tmp/bench/osbrick-trace.json 2> /dev/null
        python3 $GUEST/cmdcount.py /tmp/bench/trace-osbrick.txt --driver-json /tmp/bench/osbrick-trace.json" \
        | save trace-osbrick | add trace os_brick
}

phase_distro() {  # os-brick on Debian's own iscsid.conf and no multipath.conf
    log "distro defaults: iscsid + multipathd as Debian ships them"
    g systemctl start iscsid multipathd
    local r
    for r in $(seq 1 "$SLOW_RUNS"); do
        measure "stall, os-brick, distro defaults, run $r" stall_run os_brick "distro-$r"
    done
}

phase_collection() {
    local r n
    log "collection defaults: roles initiator + multipath"
    ours setup > "$OUT/setup.json"
    # most wanted first: a run cut short by BENCH_DEADLINE still has the main ratios
    # one cycle each in turn, so a change in the host's load hits both approaches alike
    for r in $(seq 1 "$RUNS"); do
        measure "cycle $r, iscsi_volume" cycle ours volume 1 "$r"
        measure "cycle $r, os-brick" cycle os_brick - 1 "$r"
    done
    measure "cost of one task (raw, ping)" task_cost
    "$LABCTL" cut B --mode drop
    for r in $(seq 1 "$SLOW_RUNS"); do
        measure "dead portal, iscsi_volume, run $r" dead_portal ours volume "" "$r"
        measure "dead portal, os-brick, run $r" dead_portal os_brick - "" "$r"
    done
    "$LABCTL" restore B
    for r in $(seq 1 "$SCALE_RUNS"); do
        for n in $SCALES; do
            measure "scale $n, iscsi_volume, run $r" scale ours volume "" "$n" "$r"
            measure "scale $n, os-brick, run $r" scale os_brick - "" "$n" "$r"
        done
    done
    for r in $(seq 1 "$SLOW_RUNS"); do
        measure "stall, ours, collection defaults, run $r" stall_run ours "$r"
    done
    if [ "$TRACE" = 1 ]; then
        measure "command counts and peak memory, ours (strace, not timed)" trace_ours
        measure "command counts and peak memory, os-brick (strace, not timed)" trace_osbrick
    fi
    [ "$ROLE_RUNS" = 0 ] || measure "cycles, roles" cycle ours role "$ROLE_RUNS" all
    [ "$CHAIN_RUNS" = 0 ] || measure "cycles, module chain" cycle ours modules "$CHAIN_RUNS" all
    if [ "$ROLE_VARIANTS" != 0 ]; then
        "$LABCTL" cut B --mode drop
        measure "dead portal, roles" dead_portal ours role role_ 1
        "$LABCTL" restore B
        for n in $SCALES; do
            measure "scale $n, roles" scale ours role role_ "$n" 1
        done
    fi
}

# Second anchor: the whole playbooks/attach_volume.yml run (ansible-playbook on this host as the controller,
# Keystone, Cinder, ssh into the guest, until a usable 2-path map) against the whole `cinder local-attach`
# (python-brick-cinderclient-ext, run in the guest as an operator would, reaching Keystone and Cinder on
# 192.0.2.1), both against the lab's real Cinder (lab/openstack), one volume of type two-portal; detach too.
anchor_cycle() {  # anchor_cycle APPROACH VOLUME_ID TAG
    if [ "$1" = ours ]; then
        anchor_playbook attach "$2" | save "anchor-attach-ours-$3" | add anchor ours &&
            anchor_playbook detach "$2" | save "anchor-detach-ours-$3" | add anchor ours
    else
        g python3 "$GUEST/local_attach.py" attach "$2" --env "$OUT/anchor-env.json" |
            save "anchor-attach-local-attach-$3" | add anchor os_brick &&
            g python3 "$GUEST/local_attach.py" detach "$2" --env "$OUT/anchor-env.json" |
            save "anchor-detach-local-attach-$3" | add anchor os_brick
    fi
}

anchor_playbook() {  # anchor_playbook attach|detach VOLUME_ID
    "$REPO/.venv/bin/python" bench/anchor.py playbook "$1" "$2" --inventory "$("$LABCTL" inventory)" \
        --collections "$OUT/collections-cinder" --labctl "$LABCTL" \
        --playbooks "$OUT/collections-cinder/ansible_collections/cinder_local/iscsi_multipath/playbooks"
}

phase_anchor() {
    local volume id project r
    if [ ! -x "$LA_VENV/bin/cinder" ]; then
        log "no $LA_VENV (tools/bootstrap.sh): second anchor skipped"
        note "not run: second anchor (no $LA_VENV; tools/bootstrap.sh makes it)"
        return 0
    fi
    log "second anchor: real Cinder and Keystone (lab/openstack), reachable from the guest on 192.0.2.1"
    if ! OPENSTACK_LAB_LISTEN=0.0.0.0 "$OPENSTACK_LAB" up > "$OUT/openstack-up.log" 2>&1 ||
        ! eval "$("$OPENSTACK_LAB" env)" ||
        ! volume=$("$REPO/.venv/bin/python" bench/anchor.py volume create 2>> "$OUT/openstack-up.log"); then
        log "FAILED: the lab's Cinder (see $OUT/openstack-up.log)"
        note "failed, no sample: second anchor (the lab's Cinder did not come up)"
        "$OPENSTACK_LAB" down > /dev/null 2>&1 || true
        return 0
    fi
    id=$(jq -r .id <<< "$volume")
    project=$(jq -r .project_id <<< "$volume")
    meta anchor "python-brick-cinderclient-ext $("$LA_VENV/bin/pip" show python-brick-cinderclient-ext | sed -n 's/^Version: //p') (os-brick $("$LA_VENV/bin/pip" show os-brick | sed -n 's/^Version: //p')), volume type two-portal, Cinder 29 + Keystone 30 (lab/openstack)"
    # The guest's environment of `cinder local-attach`: the lab's throwaway admin credentials (docs/lab-openstack.md).
    jq -n --arg venv "$LA_VENV" --arg endpoint "http://192.0.2.1:8776/v3/$project" '{venv: $venv, os: {
        OS_AUTH_URL: "http://192.0.2.1:5000/v3", OS_USERNAME: "admin", OS_PASSWORD: "lab-admin-secret",
        OS_PROJECT_NAME: "admin", OS_USER_DOMAIN_NAME: "Default", OS_PROJECT_DOMAIN_NAME: "Default",
        OS_VOLUME_API_VERSION: "3.44", CINDER_ENDPOINT: $endpoint}}' > "$OUT/anchor-env.json"
    for r in $(seq 1 "$SLOW_RUNS"); do
        measure "anchor $r, attach_volume.yml + detach_volume.yml (real Cinder)" anchor_cycle ours "$id" "$r"
        # a volume of its own each time: Cinder keeps the attachment local-detach cannot delete (guest/local_attach.py)
        volume=$("$REPO/.venv/bin/python" bench/anchor.py volume create 2>> "$OUT/openstack-up.log") &&
            measure "anchor $r, cinder local-attach + local-detach (real Cinder)" anchor_cycle os_brick \
                "$(jq -r .id <<< "$volume")" "$r"
    done
    "$REPO/.venv/bin/python" bench/anchor.py volume delete "$id" > /dev/null || true
    "$OPENSTACK_LAB" down > /dev/null 2>&1 || true
}

main() {
    command -v jq > /dev/null || { echo "bench: needs jq" >&2; exit 2; }
    [ -x "$OSB_PY" ] || { echo "bench: needs $OSB_PY (tools/bootstrap.sh)" >&2; exit 2; }
    local started
    started=$(date +%s)
    meta date "$(date -u +%Y-%m-%dT%H:%MZ)"
    meta machine "$(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
    meta runs "cycles $RUNS (roles: $ROLE_RUNS, module chain: $CHAIN_RUNS); stall and dead portal: $SLOW_RUNS (roles: 1); scale: $SCALE_RUNS each (roles: 1)"
    meta load_before "$(cut -d' ' -f1-3 /proc/loadavg)"
    meta quick "$([ $QUICK = 1 ] && echo yes || echo no)"
    meta config "io_stall/io_errors/path_back: ours on the collection's defaults (roles initiator + multipath; iscsi_volume's session defaults, which the volume_attach role uses), os-brick on Debian's (iscsid.conf as shipped, no multipath.conf); every other measure: both on the collection's configuration"
    make_collection
    make_volumes
    while sleep 30; do cut -d' ' -f1 /proc/loadavg; done > "$OUT/load.txt" &
    SAMPLER=$!
    trap '"$OPENSTACK_LAB" down > /dev/null 2>&1; "$LABCTL" down; kill $SAMPLER 2> /dev/null' EXIT
    lab_up
    phase_distro
    phase_collection
    [ "$ANCHOR" = 0 ] || phase_anchor
    meta wall_s "$(( $(date +%s) - started ))"
    meta load_during "$(sort -n "$OUT/load.txt" | awk '{v[NR] = $1} END {if (NR) printf "1-min load average every 30 s: min %s, median %s, max %s (%d samples)", v[1], v[int((NR + 1) / 2)], v[NR], NR}')"
    meta load_after "$(cut -d' ' -f1-3 /proc/loadavg) (host load average: other labs share the 2 cores)"
    python3 bench/report.py "$RAW" --json "$OUT/results.json" --md "$OUT/results.md"
    if [ $QUICK = 0 ]; then cp "$OUT/results.json" "$OUT/results.md" bench/; fi
    log "done in $(( $(date +%s) - started )) s: $OUT/results.md"
    cat "$OUT/results.md"
}

main "$@"
