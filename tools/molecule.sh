#!/usr/bin/env bash
# Run every molecule scenario under extensions/molecule (or the ones named) in MOLECULE_LANES lanes at once
# (default 2). Each lane takes the next scenario from one queue, longest first, and runs it in its own lab
# (LAB_NAME=mol-<scenario>), with its own ANSIBLE_HOME: the collection molecule installs before each scenario
# never changes under a playbook of the other lane. On a 2-core machine two lanes cut the molecule part from about
# 63 to 50 minutes: CPU-bound scenarios run up to 1.9 times slower beside another lab, the gain is their waits.
# Prints when each scenario starts and ends, the end of each failed scenario's log, a summary and, last, each
# failed task with its message; fails if any failed, and never leaves a lab running. Logs: results/molecule/<scenario>/.
#   usage: [MOLECULE_LANES=N] tools/molecule.sh [SCENARIO...]
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
lanes=${MOLECULE_LANES:-2}
[[ $lanes =~ ^[1-9]$ ]] || { echo "molecule.sh: MOLECULE_LANES must be 1-9, got '$lanes'" >&2; exit 2; }

# One lab user at a time on this machine (two molecule runs, or a run and bench/run.sh, would overload it):
# wait for the lab lock that bench/run.sh takes too.
exec 9>"${LAB_LOCK:-/tmp/cinder-local-lab.lock}"
flock 9

# The longest scenarios first (measured on 2 cores), so that no lane starts a long one last.
longest_first=(modules reboot attach_detach fleet prepare_hosts rollback)
if [ $# -gt 0 ]; then
    scenarios=("$@")
else
    mapfile -t found < <(find extensions/molecule -mindepth 2 -maxdepth 2 -name molecule.yml \
        -printf '%h\n' | xargs -rn1 basename | sort)
    scenarios=()
    for scenario in "${longest_first[@]}"; do
        [[ " ${found[*]} " == *" $scenario "* ]] && scenarios+=("$scenario")
    done
    for scenario in "${found[@]}"; do
        [[ " ${scenarios[*]} " == *" $scenario "* ]] || scenarios+=("$scenario")
    done
fi
[ ${#scenarios[@]} -gt 0 ] || { echo "molecule.sh: no scenarios under extensions/molecule" >&2; exit 1; }

lab_name() { printf 'mol-%s' "$1" | tr -c 'a-z0-9-' '-' | cut -c1-20; }

queue=$(mktemp)
printf '%s\n' "${scenarios[@]}" > "$queue"

next_scenario() {  # print the queue's first scenario and remove it (empty when the queue is)
    # shellcheck disable=SC2016  # sh expands them
    flock "$queue.lock" sh -c 'head -n 1 "$1" && sed -i 1d "$1"' _ "$queue"
}

run_scenario() {  # run_scenario LANE SCENARIO: molecule test in the scenario's own lab, then the lab down
    local lane=$1 scenario=$2 lab start outcome=passed
    lab=$(lab_name "$scenario")
    rm -rf "results/molecule/$scenario" && mkdir -p "results/molecule/$scenario"
    echo "$(date +%T) lane $lane: start molecule test -s $scenario (LAB_NAME=$lab)"
    start=$(date +%s)
    # its own process group (setsid), so that an interrupted run can stop it with everything it started
    LAB_NAME=$lab setsid --wait molecule test -s "$scenario" > "results/molecule/$scenario/molecule.log" 2>&1 &
    echo $! > "results/molecule/$scenario/pid"
    wait $! || outcome=FAILED
    rm -f "results/molecule/$scenario/pid"
    LAB_NAME=$lab lab/labctl down >/dev/null 2>&1
    printf '%s %s\n' "$outcome" "$(($(date +%s) - start))" > "results/molecule/$scenario/outcome"
    echo "$(date +%T) lane $lane: $outcome $scenario in $(($(date +%s) - start))s"
}

run_lane() {  # run_lane LANE: run scenarios from the queue until it is empty
    local lane=$1 scenario
    export ANSIBLE_HOME=$PWD/.cache/ansible-home-lane$lane
    while scenario=$(next_scenario) && [ -n "$scenario" ]; do
        run_scenario "$lane" "$scenario"
    done
}

failed_tasks() {  # from a molecule log on stdin: each failed task (not ignored) with its msg, at most 5
    sed 's/\x1b\[[0-9;]*m//g; s/^ *│ \{0,1\}//' | awk '
        function show() { if (failure != "" && !ignored && n++ < 5) print "  " task "\n    " failure msg }
        failure != "" && (/^$/ || /^(TASK|PLAY|RUNNING HANDLER) \[/ || /^\.\.\.ignoring/) {
            ignored = /^\.\.\.ignoring/; show(); failure = ""; ignored = 0 }
        failure != "" && /^ +msg:/ { msg_lines = 4 }
        failure != "" && msg_lines > 0 { msg = msg "\n    " $0; msg_lines-- }
        /^TASK \[/ { task = $0 }
        /^(fatal|failed): / { failure = $0; msg = "" }
        END { show() }'
}

# shellcheck disable=SC2317  # called from the trap
cleanup() {
    local lane_pids scenario
    mapfile -t lane_pids < <(jobs -p)
    [ ${#lane_pids[@]} -gt 0 ] && kill "${lane_pids[@]}" 2>/dev/null
    for scenario in "${scenarios[@]}"; do
        [ -s "results/molecule/$scenario/pid" ] && kill -- "-$(cat "results/molecule/$scenario/pid")" 2>/dev/null
        LAB_NAME=$(lab_name "$scenario") lab/labctl down >/dev/null 2>&1
    done
    rm -f "$queue" "$queue.lock"
}
trap 'cleanup; exit 130' INT TERM

start=$(date +%s)
for ((lane = 1; lane <= lanes && lane <= ${#scenarios[@]}; lane++)); do
    run_lane "$lane" &
    sleep 5  # molecule's first steps are the host's busiest: do not start them all at once
done
wait
rm -f "$queue" "$queue.lock"

failed_scenarios=()
summary=()
for scenario in "${scenarios[@]}"; do
    read -r outcome seconds 2>/dev/null < "results/molecule/$scenario/outcome" || outcome=FAILED seconds=-
    summary+=("$(printf '  %-24s %-7s %5ss' "$scenario" "$outcome" "$seconds")")
    if [ "$outcome" != passed ]; then
        failed_scenarios+=("$scenario")
        echo "== the end of results/molecule/$scenario/molecule.log"
        tail -n 150 "results/molecule/$scenario/molecule.log"
    fi
done
echo "== molecule summary ($lanes lanes, $(($(date +%s) - start))s in all)"
printf '%s\n' "${summary[@]}"
# Last, where CI's excerpt of the output sees it: each failed scenario's failed tasks, one line each.
for scenario in "${failed_scenarios[@]}"; do
    echo "== $scenario failed at:"
    failed_tasks < "results/molecule/$scenario/molecule.log"
done
[ ${#failed_scenarios[@]} -eq 0 ]
