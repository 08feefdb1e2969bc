# The joblog survives kill -9 of the parent; --resume and --resume-failed.
. "$SRCDIR/tests/lib.sh"

cat > c.ini <<'INI'
[pool]
workers = 3
joblog = run.joblog
[jobs]
file = jobs.txt
[command]
template = echo {1} >> ran; sleep 0.1
INI
seq 1 60 > jobs.txt
# Workers are found by the config's full path on their command line.
gone() { ! pgrep -f "$1" >/dev/null; }
"$MPWORKER" -c "$T/c.ini" --no-progress >out 2>err &
mpw=$!
wait_for 10 ok_at_least 10 run.joblog || fail "jobs did not run"
kill -9 $mpw
wait $mpw 2>/dev/null
recorded=$(joblog_ok run.joblog)
check "the joblog kept what finished before the kill" test "$(echo "$recorded" | wc -l)" -ge 10
check "its workers died with it" wait_for 5 gone "$T/c.ini"
run_mpw -c c.ini --resume
expect_eq "--resume exits 0" "$rc" 0
expect_eq "every job is now recorded as done" "$(joblog_ok run.joblog | sort -nu | tr '\n' ' ')" "$(seq 1 60 | tr '\n' ' ')"
twice=0
for s in $recorded; do
	[ "$(grep -cx "$s" ran)" = 1 ] || twice=$((twice + 1))
done
expect_eq "no job recorded as done ran again" "$twice" 0
expect_grep "the log says how many are skipped" "resuming: [0-9]+ jobs in .* are not run again" err

# A worker whose parent is killed stops the command it was running.
printf '[pool]\nworkers = 1\n[jobs]\njob = touch started; sleep 33\n' > orphan.ini
"$MPWORKER" -c "$T/orphan.ini" --no-progress >out 2>err &
mpw=$!
wait_for 10 test -e started || fail "the long job did not start"
kill -9 $mpw
check "its worker exits" wait_for 5 gone "$T/orphan.ini"
check "and its command is stopped" wait_for 5 not_running "sleep 33"

# A torn last line (a crash mid-write) is ignored, not misread.
printf '61\t:\t1' >> run.joblog
echo 61 >> jobs.txt
run_mpw -c c.ini --resume
expect_eq "resume past a torn line exits 0" "$rc" 0
expect_eq "job 61 ran" "$(grep -cx 61 ran)" 1

# --resume skips failed jobs too; --resume-failed runs them again.
cat > f.ini <<'INI'
[pool]
workers = 2
joblog = f.joblog
[jobs]
job = echo a >> f.ran
job = test -e fixed && echo b >> f.ran
job = echo c >> f.ran
INI
run_mpw -c f.ini
expect_eq "first run: one job fails" "$rc" 1
run_mpw -c f.ini --resume
expect_eq "--resume runs nothing and exits 0" "$rc" 0
expect_eq "nothing ran again" "$(wc -l < f.ran)" 2
touch fixed
run_mpw -c f.ini --resume-failed
expect_eq "--resume-failed runs the failed job" "$rc" 0
expect_eq "only that one" "$(sort f.ran | tr '\n' ' ')" "a b c "
expect_eq "the joblog now records job 2 as done" "$(joblog_ok f.joblog | tr '\n' ' ')" "1 2 3 "
run_mpw -c f.ini
expect_eq "without --resume the joblog starts over" "$(tail -n +2 f.joblog | wc -l)" 3

printf 'not a joblog\n' > bad.joblog
run_mpw -c f.ini --joblog bad.joblog --resume
expect_eq "resuming from something else is an error" "$rc" 2
expect_grep "it says so" "bad.joblog is not a joblog" err

finish
