# job_timeout kills the job (TERM, then KILL), records it, and replaces the worker.
. "$SRCDIR/tests/lib.sh"

cat > c.ini <<'INI'
[pool]
workers = 2
job_timeout = 500ms
joblog = run.joblog
[jobs]
job = echo $PPID > pid.1; sleep 20
job = trap '' TERM; echo $PPID > pid.2; sleep 20
job = echo quick
INI
run_mpw -v -c c.ini
expect_eq "timed-out jobs make exit 1" "$rc" 1
expect_eq "a job that obeys SIGTERM is recorded with signal 15" "$(joblog_field run.joblog 1 8)" 15
expect_eq "one that ignores it is killed with signal 9" "$(joblog_field run.joblog 2 8)" 9
check "its recorded runtime is near the timeout, not 20s" \
	awk -F'\t' 'NR > 1 && $1 <= 2 && $4 > 5 { bad = 1 } END { exit bad }' run.joblog
expect_grep "the log says it timed out" "job 1 failed: timed out after 0.5s" err
expect_eq "the quick job succeeded" "$(joblog_ok run.joblog)" 3
expect_grep "the worker was replaced" "worker [12] replaced: job [12] timed out" err
expect_grep "and the report counts both replacements" "3 jobs: .* 2 workers replaced" err
check "no sleep 20 is left running" not_running "sleep 20"

# A worker that cannot enforce the timeout itself (stopped) is killed by the parent.
cat > s.ini <<'INI'
[pool]
workers = 1
job_timeout = 200ms
joblog = s.joblog
[jobs]
job = kill -STOP $PPID; sleep 30.17
job = echo after
INI
run_mpw -c s.ini
expect_eq "exit 1" "$rc" 1
expect_eq "the stuck job is recorded killed by signal 9" "$(joblog_field s.joblog 1 8)" 9
expect_grep "the log says the parent killed it" "job 1 ran past job_timeout" err
expect_eq "the next job ran on a new worker" "$(joblog_ok s.joblog)" 2
# (a sleep of its own length, not another test's; the kill is asynchronous)
check "the stuck command was killed too" wait_for 5 not_running "sleep 30.17"

finish
