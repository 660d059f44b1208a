# Copyright (c) cinder_local maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Direct-IO write/read-back loop on a block device during a path failover (runs in the lab guest).

usage: python3 iocheck.py DEVICE STATE_FILE STOP_FILE

Fills a VERIFY region [0, 8 MiB) once with a known pattern, then loops until STOP_FILE exists: one
4 KiB O_DIRECT write into a WRITE region at 32 MiB (never verified, so a misplaced write shows up as a
mismatch instead of being read back as good) and one 64 KiB O_DIRECT read of the verify region,
compared with the pattern. Rewrites STATE_FILE (JSON) about once a second and at the end: IOs, IO
errors, mismatches, bytes verified, longest gap between two completed IOs, and "done".
"""

import hashlib
import json
import mmap
import os
import sys
import time

BLOCK = 4096
CHUNK = 64 * 1024
MIB = 1024 * 1024
VERIFY = 8 * MIB
WRITE_AT = 32 * MIB


def expected(offset, length):
    return b''.join(hashlib.sha256(b'verify-%d' % block).digest() * (BLOCK // 32)
                    for block in range(offset // BLOCK, (offset + length) // BLOCK))


def save(path, stats):
    with open(path + '.tmp', 'w', encoding='utf-8') as handle:
        json.dump(stats, handle)
    os.replace(path + '.tmp', path)


def main():
    device, state_file, stop_file = sys.argv[1:4]
    fd = os.open(device, os.O_RDWR | os.O_DIRECT)
    buf = mmap.mmap(-1, MIB)  # page aligned, as O_DIRECT needs
    for offset in range(0, VERIFY, MIB):
        buf.seek(0)
        buf.write(expected(offset, MIB))
        os.pwrite(fd, buf, offset)
    os.fsync(fd)
    wbuf, rbuf = mmap.mmap(-1, BLOCK), mmap.mmap(-1, CHUNK)
    stats = {'ios': 0, 'io_errors': 0, 'mismatches': 0, 'bytes_verified': 0, 'max_gap_s': 0.0, 'done': False}
    last = saved = time.monotonic()
    index = 0
    while not os.path.exists(stop_file):
        wbuf.seek(0)
        wbuf.write(os.urandom(BLOCK))
        roff = (index * CHUNK) % VERIFY
        try:
            os.pwrite(fd, wbuf, WRITE_AT + (index * BLOCK) % VERIFY)
            os.preadv(fd, [rbuf], roff)
        except OSError as exc:
            stats['io_errors'] += 1
            stats.setdefault('first_error', str(exc))
            time.sleep(0.1)
        else:
            if rbuf[:] == expected(roff, CHUNK):
                stats['bytes_verified'] += CHUNK
            else:
                stats['mismatches'] += 1
            now = time.monotonic()
            stats['ios'] += 2
            stats['max_gap_s'] = round(max(stats['max_gap_s'], now - last), 2)
            last = now
        index += 1
        if time.monotonic() - saved >= 1:
            save(state_file, stats)
            saved = time.monotonic()
        time.sleep(0.05)
    os.close(fd)
    stats['done'] = True
    save(state_file, stats)


if __name__ == '__main__':
    main()
