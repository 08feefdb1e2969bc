# A worker killed mid-job is reaped, logged and replaced, and its job retried.
. "$SRCDIR/tests/lib.sh"

cat > c.ini <<'INI'
[pool]
workers = 2
retries = 1
joblog = run.joblog
[jobs]
file = jobs.txt
[command]
; $PPID is the worker running the job
template = echo $PPID > pid.{1}; echo $PPID >> pids; sleep 0.6; echo {1} >> done
INI
seq 1 6 > jobs.txt
"$MPWORKER" -c c.ini --no-progress >out 2>err &
mpw=$!
wait_for 10 test -s pid.1 || fail "job 1 never started"
victim=$(cat pid.1)
kill -9 "$victim"
wait $mpw; rc=$?
expect_eq "the run still succeeds" "$rc" 0
expect_grep "the death is logged with slot, pid, signal and job" \
	"worker [12] \(pid $victim\) killed by signal 9 .* after [0-9.]+s, holding job 1" err
expect_eq "job 1's lost attempt is in the joblog with signal 9" "$(joblog_field run.joblog 1 8 | head -1)" 9
expect_eq "and then its retry succeeded" "$(joblog_field run.joblog 1 8 | tail -1)" 0
expect_eq "every job ran to the end exactly once" "$(sort -n done | tr '\n' ' ')" "1 2 3 4 5 6 "
check "a new worker took the slot" test "$(sort -u pids | wc -l)" -ge 3
expect_grep "the report counts the restart" "1 worker replaced" err
# The command the dead worker held was killed too, not left running.
check "no orphaned command survives" not_running "sleep 0.6"

# Without retries the job is recorded as failed; the others go on.
sed -i 's/retries = 1/retries = 0/' c.ini
rm -f pid.* pids done run.joblog
"$MPWORKER" -c c.ini --no-progress >out 2>err &
mpw=$!
wait_for 10 test -s pid.2 || fail "job 2 never started"
kill -9 "$(cat pid.2)"
wait $mpw; rc=$?
expect_eq "a lost job without retries makes exit 1" "$rc" 1
expect_eq "it is recorded as failed by signal 9" "$(joblog_field run.joblog 2 8)" 9
expect_grep "the log says why" "job 2 failed: its worker killed by signal 9" err
expect_eq "the other five jobs ran" "$(sort -n done | tr '\n' ' ')" "1 3 4 5 6 "

# A worker that keeps dying is restarted with backoff, not in a storm.
cat > storm.ini <<'INI'
[pool]
workers = 1
retries = 3
joblog = storm.joblog
[jobs]
job = kill -9 $PPID; sleep 1
job = echo survivor
INI
run_mpw -c storm.ini
expect_eq "a job that kills its worker every time fails" "$rc" 1
expect_eq "it was tried 1 + 3 times" "$(joblog_field storm.joblog 1 8 | tr '\n' ' ')" "9 9 9 9 "
expect_eq "the job after it still ran" "$(joblog_ok storm.joblog)" 2
expect_grep "the restarts are counted" "4 workers replaced" err

# A worker stopped (SIGSTOP) while idle cannot hold the end of the run
# up: once retired, it gets KILL_GRACE to exit, then is killed.
printf '[pool]\nworkers = 3\n[jobs]\njob = sleep 1\n' > idle.ini
"$MPWORKER" --no-progress -c "$T/idle.ini" >out 2>err &
mpw=$!
three() { [ "$(pgrep -P $mpw | wc -l)" -eq 3 ]; }
wait_for 10 three || fail "three workers did not start"
sleep 0.3
for w in $(pgrep -P $mpw); do [ -z "$(pgrep -P $w)" ] && kill -STOP $w; done
wait_for 20 sh -c "! kill -0 $mpw 2>/dev/null" || fail "the run did not end"
wait $mpw
expect_eq "the run ends with exit 0" "$?" 0
expect_grep "saying it killed the stopped workers" "killed: it did not exit 5s after it was retired" err
finish
