#!/usr/bin/env bash
# io-loop.sh DEVICE LOG: 4 KiB direct write + read every 0.2 s at 32 MiB and beyond (outside
# the 16 MiB pattern the tests verify). One line per IO: "EPOCH ok|ERR SECONDS".
set -u
device=$1 log=$2 i=0
: > "$log"
while :; do
    start=$(date +%s.%N)
    offset=$((8192 + i % 1024))
    if dd if=/dev/urandom of="$device" bs=4k count=1 seek="$offset" oflag=direct status=none &&
        dd if="$device" of=/dev/null bs=4k count=1 skip="$offset" iflag=direct status=none; then
        result=ok
    else
        result=ERR
    fi
    end=$(date +%s.%N)
    echo "$end $result $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')" >> "$log"
    i=$((i + 1))
    sleep 0.2
done
