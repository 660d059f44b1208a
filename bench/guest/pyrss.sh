#!/bin/sh
# Module interpreter for the command-count pass: records each module run's peak RSS (KiB).
exec /usr/bin/time -a -o /tmp/bench/module-rss.txt -f '%M' /usr/bin/python3 "$@"
