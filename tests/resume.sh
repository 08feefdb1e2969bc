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

# One mpworker per joblog.  A second run on a joblog in use is refused
# before it changes anything (exit 2): it neither runs the jobs again nor
# erases the first run's record; a second --resume, or an --undo, too.
seq 1 30 | sed 's/.*/sleep 0.1; echo & >> l.ran/' > l.jobs
cat > l.ini <<INI
[pool]
workers = 2
joblog = l.joblog
[jobs]
file = l.jobs
INI
"$MPWORKER" --no-progress -c l.ini >l1.out 2>l1.err &
first=$!
wait_for 10 ok_at_least 2 l.joblog || fail "the first run did not start"
run_mpw -c l.ini
expect_eq "a second run on a joblog in use exits 2" "$rc" 2
expect_grep "saying why" "joblog .*l.joblog is in use by another mpworker" err
run_mpw -c l.ini --resume
expect_eq "so does a --resume" "$rc" 2
run_mpw --undo l.joblog
expect_eq "and an --undo" "$rc" 2
wait $first
expect_eq "the first run finishes: exit 0" "$?" 0
expect_eq "each job ran once" "$(sort -n l.ran | uniq | wc -l) $(wc -l < l.ran)" "30 30"
expect_eq "and its joblog holds all 30" "$(joblog_ok l.joblog | sort -nu | wc -l)" 30
# Two --resume runs at once: the jobs left run once, by one of them.
: > l.ran
head -n 10 l.joblog > l.part && mv l.part l.joblog
"$MPWORKER" --no-progress -c l.ini --resume >r1.out 2>r1.err &
r1=$!
wait_for 10 test -s l.ran || fail "the first --resume did not start"
run_mpw -c l.ini --resume
expect_eq "a second --resume at once exits 2" "$rc" 2
wait $r1
expect_eq "the first --resume runs what was left: exit 0" "$?" 0
expect_eq "the 21 left ran once each" "$(sort -n l.ran | uniq | wc -l) $(wc -l < l.ran)" "21 21"

finish
