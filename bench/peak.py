"""Peak memory of a process and of its children, while it runs.

    peak.py SECONDS COMMAND...

Runs COMMAND in a session of its own, polling every 20 ms the high-water
mark of resident memory (VmHWM in /proc/PID/status) of the process and of
each of its direct children (mpworker's workers; xargs's and GNU parallel's
shells).  With SECONDS > 0 the whole session is killed after that long;
with 0 the command runs to the end.  Prints one line:

    PARENT_KB  LARGEST_CHILD_KB  SECONDS  EXIT

(wait4()'s ru_maxrss, which /usr/bin/time -v prints, is no use here: it
counts the pages of this Python process the child had between fork and
exec.)
"""
import os
import signal
import subprocess
import sys
import time


def hwm(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid):
    kids = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                kids += [int(p) for p in f.read().split()]
    except OSError:
        pass
    return kids


def main():
    limit = float(sys.argv[1])
    t0 = time.monotonic()
    p = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL, start_new_session=True)
    parent = child = 0
    status = None
    while status is None:
        parent = max(parent, hwm(p.pid))
        for k in children(p.pid):
            child = max(child, hwm(k))
        if limit > 0 and time.monotonic() - t0 >= limit:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        pid, st = os.waitpid(p.pid, os.WNOHANG)
        if pid == p.pid:
            status = st
            break
        time.sleep(0.02)
    code = os.waitstatus_to_exitcode(status)
    print(parent, child, "%.2f" % (time.monotonic() - t0), code)


if __name__ == "__main__":
    main()
