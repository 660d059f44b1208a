"""Create or delete the demo's Cinder volume through openstacksdk (OS_CLOUD from openstack-lab env).

usage: python tools/demo_volume.py create NAME VOLUME_TYPE   -> prints the volume id
       python tools/demo_volume.py delete VOLUME_ID
       python tools/demo_volume.py attachments VOLUME_ID  -> "Cinder attachments: N"; exit 1 unless available
"""
import sys
import time

import openstack


def create(conn, name, volume_type):
    volume = conn.block_storage.create_volume(name=name, size=1, volume_type=volume_type)
    volume = conn.block_storage.wait_for_status(volume, status="available", failures=["error"],
                                                interval=1, wait=300)
    print(volume.id)


def delete(conn, volume_id):
    deadline = time.monotonic() + 120
    while True:
        volume = conn.block_storage.find_volume(volume_id)
        if volume is None:
            return
        if volume.status in ("available", "error"):
            conn.block_storage.delete_volume(volume)
            conn.block_storage.wait_for_delete(volume, interval=1, wait=120)
            return
        if time.monotonic() > deadline:
            sys.exit("volume %s is still %s" % (volume_id, volume.status))
        time.sleep(1)


def attachments(conn, volume_id):
    volume = conn.block_storage.get_volume(volume_id)
    print("Cinder attachments: %d (volume %s)" % (len(volume.attachments or []), volume.status))
    if volume.status != "available":
        sys.exit(1)


def main():
    conn = openstack.connect()
    if sys.argv[1:2] == ["create"] and len(sys.argv) == 4:
        create(conn, sys.argv[2], sys.argv[3])
    elif sys.argv[1:2] == ["delete"] and len(sys.argv) == 3:
        delete(conn, sys.argv[2])
    elif sys.argv[1:2] == ["attachments"] and len(sys.argv) == 3:
        attachments(conn, sys.argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
