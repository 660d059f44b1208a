# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Direct-IO checker for a block device during path failover (runs in the lab guest; the bench and the
molecule failover check both use it).

Layout on the device: a VERIFY region [0, verify) filled once with a known pattern
(`--prefill`) and only ever read back; a WRITE region [write_at, write_at + verify)
that the loop writes to and never verifies. So a write that lands in the wrong place
shows up as a mismatch instead of being read back as "good".

The loop does one 4 KiB O_DIRECT write then one O_DIRECT read+compare of the verify
region, records the completion time of every IO and stops when --stop-file appears
(or after --duration). Prints one JSON object: longest gap between completed IOs,
IO errors, mismatches, bytes verified. --state-file also gets the same object about once
a second while the loop runs, and with "done": true at the end.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import mmap
import os
import time

BLOCK = 4096
READ_CHUNK = 64 * 1024
MIB = 1024 * 1024


def pattern_block(index: int) -> bytes:
    seed = hashlib.sha256(b"bench-verify-%d" % index).digest()
    return seed * (BLOCK // len(seed))


def expected(offset: int, length: int) -> bytes:
    first = offset // BLOCK
    return b"".join(pattern_block(first + i) for i in range(length // BLOCK))


def aligned(size: int) -> mmap.mmap:
    return mmap.mmap(-1, size)  # page aligned, as O_DIRECT needs


def prefill(fd: int, verify_bytes: int) -> None:
    buf = aligned(MIB)
    for off in range(0, verify_bytes, MIB):
        buf.seek(0)
        buf.write(expected(off, MIB))
        os.pwrite(fd, buf, off)
    os.fsync(fd)


def save(path: str | None, stats: dict) -> None:
    """Replace path with the stats as JSON at once (readers never see half a file)."""
    if path:
        with open(path + ".tmp", "w", encoding="utf-8") as handle:
            json.dump(stats, handle)
        os.replace(path + ".tmp", path)


def run_loop(fd: int, args: argparse.Namespace) -> dict:
    verify_bytes = args.verify_mib * MIB
    write_at = args.write_at_mib * MIB
    wbuf, rbuf = aligned(BLOCK), aligned(READ_CHUNK)
    start = last = time.monotonic()
    stats = {"ios": 0, "io_errors": 0, "mismatches": 0, "bytes_verified": 0,
             "bytes_written": 0, "max_gap_s": 0.0, "max_gap_started_at_s": 0.0, "done": False}
    deadline = start + args.duration
    saved = start
    i = 0
    while not os.path.exists(args.stop_file) and time.monotonic() < deadline:
        woff = write_at + (i * BLOCK) % verify_bytes
        roff = (i * READ_CHUNK) % verify_bytes
        wbuf.seek(0)
        wbuf.write(os.urandom(BLOCK))
        for op in ("write", "read"):
            try:
                if op == "write":
                    os.pwrite(fd, wbuf, woff)
                    stats["bytes_written"] += BLOCK
                else:
                    os.preadv(fd, [rbuf], roff)
                    if rbuf[:] == expected(roff, READ_CHUNK):
                        stats["bytes_verified"] += READ_CHUNK
                    else:
                        stats["mismatches"] += 1
            except OSError as exc:
                stats["io_errors"] += 1
                stats.setdefault("first_error", "%s: %s" % (op, exc))
                time.sleep(0.05)
                continue
            now = time.monotonic()
            stats["ios"] += 1
            if now - last > stats["max_gap_s"]:
                stats["max_gap_s"] = round(now - last, 3)
                stats["max_gap_started_at_s"] = round(last - start, 3)
            last = now
        i += 1
        if time.monotonic() - saved >= 1:
            save(args.state_file, stats)
            saved = time.monotonic()
        time.sleep(args.pause)
    stats["duration_s"] = round(time.monotonic() - start, 3)
    stats["done"] = True
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("device")
    parser.add_argument("--verify-mib", type=int, default=8)
    parser.add_argument("--write-at-mib", type=int, default=32)
    parser.add_argument("--prefill", action="store_true")
    parser.add_argument("--stop-file", default="/tmp/bench/iocheck.stop")
    parser.add_argument("--ready-file", help="created once the loop starts")
    parser.add_argument("--state-file", help="rewritten with the stats about once a second and at the end")
    parser.add_argument("--duration", type=float, default=600.0)
    parser.add_argument("--pause", type=float, default=0.02)
    args = parser.parse_args()
    if args.write_at_mib * MIB < args.verify_mib * MIB:
        parser.error("the write region must not overlap the verify region")
    fd = os.open(args.device, os.O_RDWR | os.O_DIRECT)
    try:
        if args.prefill:
            prefill(fd, args.verify_mib * MIB)
        if args.ready_file:
            with open(args.ready_file, "w", encoding="utf-8"):
                pass
        result = run_loop(fd, args)
    finally:
        os.close(fd)
    result["device"] = args.device
    save(args.state_file, result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
