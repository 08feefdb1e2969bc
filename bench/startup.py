"""Start-up and replacement times of mpworker --service.

    startup.py MPWORKER INI KILLS

Starts MPWORKER --service -v -c INI with NOTIFY_SOCKET pointing at a
socket of its own, and times launch -> READY=1, which mpworker sends once
every worker has passed its init hook (connected and run its init
statements).  Then KILLS times over, it kills one of the first workers
with SIGKILL and times death -> "worker N (pid P) ready" for the worker
that replaces it (read from mpworker's log as it is written).  Each
worker is killed once, so none is held back by restart backoff.  Prints:

    ready MS
    replaced MS      (KILLS lines)
"""
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from peak import children


def main():
    mpworker, ini, kills = sys.argv[1], sys.argv[2], int(sys.argv[3])
    d = tempfile.mkdtemp(prefix="mpw-startup.")
    path = os.path.join(d, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(30)
    env = dict(os.environ, NOTIFY_SOCKET=path)
    lines = queue.Queue()

    t0 = time.monotonic()
    p = subprocess.Popen([mpworker, "--service", "-v", "-c", ini], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    while b"READY=1" not in sock.recv(4096):
        pass
    print("ready %.1f" % ((time.monotonic() - t0) * 1000))

    def reader():
        for line in p.stderr:
            lines.put((time.monotonic(), line))
    threading.Thread(target=reader, daemon=True).start()

    ready = re.compile(r"worker \d+ \(pid (\d+)\) ready")
    originals = children(p.pid)
    time.sleep(0.2)
    for victim in originals[:kills]:
        while not lines.empty():
            lines.get()
        t0 = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        while True:
            t, line = lines.get(timeout=10)
            m = ready.search(line)
            if m and int(m.group(1)) not in originals:
                print("replaced %.1f" % ((t - t0) * 1000))
                break
        time.sleep(0.1)
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=30)
    os.unlink(path)
    os.rmdir(d)


if __name__ == "__main__":
    main()
