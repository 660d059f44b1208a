"""Expose a TCP port of a network namespace on the host's 127.0.0.1.

usage: python3 forward.py NETNS_PATH TARGET_ADDRESS TARGET_PORT PORT_FILE
Listens on 127.0.0.1:<free port> in the current (root) namespace, writes that port to
PORT_FILE, then enters NETNS_PATH: every accepted connection is relayed to
TARGET_ADDRESS:TARGET_PORT inside the namespace. Runs until killed.
"""
import ctypes
import os
import socket
import sys
import threading

CLONE_NEWNET = 0x40000000


def enter_netns(path):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), f"setns {path}")
    os.close(fd)


def pump(source, sink):
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def relay(client, target):
    try:
        upstream = socket.create_connection(target, timeout=30)
    except OSError as error:
        print(f"forward: cannot connect to {target}: {error}", file=sys.stderr, flush=True)
        client.close()
        return
    upstream.settimeout(None)
    threading.Thread(target=pump, args=(upstream, client), daemon=True).start()
    pump(client, upstream)


def main():
    netns, address, port, port_file = sys.argv[1:5]
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    enter_netns(netns)  # new sockets (and threads) from here on live in the namespace
    with open(port_file + ".tmp", "w", encoding="ascii") as stream:
        stream.write(f"{listener.getsockname()[1]}\n")
    os.rename(port_file + ".tmp", port_file)
    while True:
        client = listener.accept()[0]
        threading.Thread(target=relay, args=(client, (address, int(port))), daemon=True).start()


if __name__ == "__main__":
    main()
