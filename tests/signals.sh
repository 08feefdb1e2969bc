# SIGTERM/SIGINT drain and exit 4; a second one stops at once; SIGUSR1 logs a status line.
. "$SRCDIR/tests/lib.sh"

cat > c.ini <<'INI'
[pool]
workers = 2
joblog = run.joblog
[jobs]
file = jobs.txt
[command]
template = echo {1} >> started; sleep 0.4; echo {1} >> done
INI
seq 1 20 > jobs.txt
"$MPWORKER" -c c.ini --no-progress >out 2>err &
mpw=$!
wait_for 10 lines_at_least 3 done || fail "jobs did not start"
kill -USR1 $mpw
wait_for 5 grep -q "status:" err || true
expect_grep "SIGUSR1 logs busy/idle workers and job counts" \
	"status: [0-9]+ busy, [0-9]+ idle workers; [0-9]+ done, 0 failed, [0-9]+ queued" err
kill -TERM $mpw
wait $mpw; rc=$?
expect_eq "SIGTERM with jobs left exits 4" "$rc" 4
expect_eq "the jobs running at SIGTERM finished" "$(sort -n started)" "$(sort -n done)"
expect_eq "and were recorded as succeeded" "$(joblog_ok run.joblog)" "$(sort -n done)"
check "jobs were left" test "$(wc -l < done)" -lt 20
expect_grep "the report says it was interrupted" "interrupted: [0-9]+\+? jobs not run \(--resume continues\)" err

run_mpw -c c.ini --resume
expect_eq "--resume finishes with exit 0" "$rc" 0
expect_eq "every job has run exactly once" "$(sort -n done | tr '\n' ' ')" "$(seq 1 20 | tr '\n' ' ')"
expect_eq "the joblog has every job once" "$(joblog_ok run.joblog | uniq | wc -l) $(joblog_ok run.joblog | wc -l)" "20 20"

# SIGINT to the whole process group, as Ctrl-C does: the same drain.
rm -f started done run.joblog
setsid "$MPWORKER" -c c.ini --no-progress >out 2>err &
mpw=$!
wait_for 10 test -s done || fail "jobs did not start"
kill -INT -- -$mpw
wait $mpw; rc=$?
expect_eq "Ctrl-C exits 4" "$rc" 4
expect_eq "the running jobs were not interrupted" "$(sort -n started)" "$(sort -n done)"

# A second signal stops at once, killing running commands; they are not recorded as failed.
cat > slow.ini <<'INI'
[pool]
workers = 2
joblog = slow.joblog
stop_timeout = 60
[jobs]
job = echo 1 >> slow.started; sleep 40
job = echo 2 >> slow.started; sleep 40
job = echo never
INI
"$MPWORKER" -c slow.ini --no-progress >out 2>err &
mpw=$!
wait_for 10 lines_at_least 2 slow.started || fail "slow jobs did not start"
kill -TERM $mpw
sleep 0.3
kill -TERM $mpw
wait $mpw; rc=$?
expect_eq "a second SIGTERM exits 4" "$rc" 4
expect_grep "it says it stops now" "stopping now" err
check "the running commands were killed" not_running "sleep 40"
expect_eq "aborted jobs are not recorded as finished" "$(tail -n +2 slow.joblog | wc -l)" 0
run_mpw -c slow.ini --resume --dry-run
expect_eq "so --resume would run all three again" "$(wc -l < out)" 3


# What SIGUSR1 asks for is said even with -q, which hides only what was not asked for.
printf '[pool]\nworkers = 2\n[jobs]\njob = sleep 5\njob = sleep 5\n' > q.ini
"$MPWORKER" -q -c q.ini >q.out 2>q.err &
mpw=$!
two_children() { [ "$(pgrep -P $mpw | wc -l)" -ge 2 ]; }
wait_for 10 two_children || fail "the workers did not start"
sleep 0.3
kill -USR1 $mpw
check "SIGUSR1's status line shows under -q" wait_for 5 grep -q "status: 2 busy" q.err
kill -TERM $mpw
sleep 0.2
kill -TERM $mpw	# the second stops the running jobs at once
wait $mpw
expect_eq "and two TERMs stop it with jobs left: exit 4" "$?" 4

finish
