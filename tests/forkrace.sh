# A worker that dies between forking a command and letting it run (the
# "go" pipe): the command never runs and never lingers.  gdb stops the
# worker at that very point, on its setpgid() of the new child, and kills
# it there.
. "$SRCDIR/tests/lib.sh"

command -v gdb >/dev/null || { echo "SKIP: no gdb"; exit 77; }

mkfifo jobs.fifo
printf '[pool]\nworkers = 1\njoblog = r.joblog\n[jobs]\nfile = jobs.fifo\n' > r.ini
"$MPWORKER" --service --no-progress -c "$T/r.ini" >out 2>err &
mpw=$!
one_worker() { [ "$(pgrep -P $mpw | wc -l)" -eq 1 ]; }
wait_for 10 one_worker || fail "the worker did not start"
w=$(pgrep -P $mpw)
cat > gdb.cmds <<'GDB'
set pagination off
set confirm off
set detach-on-fork on
set follow-fork-mode parent
break setpgid
continue
printf "child %d\n", $rdi
kill
GDB
timeout 60 gdb -p "$w" -batch -x gdb.cmds >gdb.out 2>&1 &
gdbpid=$!
wait_for 20 grep -q "^Breakpoint 1 at" gdb.out || fail "gdb did not attach"
feed "touch ran" jobs.fifo
wait $gdbpid
child=$(sed -n 's/^child \([0-9]*\)$/\1/p' gdb.out)
check "the worker was stopped right after its fork (child $child)" test -n "$child"
gone() { ! kill -0 "$child" 2>/dev/null; }
check "the forked child ends when its worker dies" wait_for 5 gone
check "and never ran the command" test ! -e ran
check "the worker was replaced" wait_for 10 one_worker
expect_eq "the job is recorded as failed, killed with its worker" "$(joblog_field r.joblog 1 8)" 9
kill -TERM $mpw
wait $mpw
expect_eq "the service stops with exit 0 (a stop as asked; the failure is in the joblog)" "$?" 0
finish
