"""Run one QMP command on a QEMU machine-protocol unix socket; print the result as JSON.

usage: python3 qmp.py SOCKET COMMAND [ARGUMENTS-AS-JSON]
Exit status 1 (and the error on stderr) when QEMU answers with an error.
"""
import json
import socket
import sys


def main():
    path, command = sys.argv[1], sys.argv[2]
    arguments = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.connect(path)
        stream = sock.makefile("rw")

        def call(name, args=None):
            stream.write(json.dumps({"execute": name, "arguments": args or {}}) + "\n")
            stream.flush()
            while True:
                reply = json.loads(stream.readline())
                if "return" in reply or "error" in reply:  # skip asynchronous events
                    return reply

        json.loads(stream.readline())  # greeting
        call("qmp_capabilities")
        reply = call(command, arguments)
    if "error" in reply:
        print(f"qmp {command}: {reply['error'].get('desc')}", file=sys.stderr)
        return 1
    print(json.dumps(reply["return"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
