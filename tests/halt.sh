# --halt / [pool] halt, with GNU parallel's syntax: stop early when enough
# jobs failed (or succeeded, or finished).  soon lets the running jobs
# finish and records them; now stops them unrecorded.  Either way the
# jobs not run are left for --resume, and the exit status says halted (6).
. "$SRCDIR/tests/lib.sh"

# Twelve jobs of 0.3 s, two at a time; the third fails.
for i in $(seq 1 12); do
	if [ "$i" = 3 ]; then echo "sleep 0.3; exit 7"; else echo "sleep 0.3; echo $i"; fi
done > jobs.txt
printf '[pool]\nworkers = 2\njoblog = h.joblog\n[jobs]\nfile = jobs.txt\n' > h.ini

run_mpw -c h.ini --halt soon,fail=1
expect_eq "soon,fail=1: exit 6" "$rc" 6
expect_grep "saying why" "halt soon,fail=1: 1 jobs failed: finishing the running jobs, then stopping$" err
expect_grep "and what is left" "halted: [0-9]+ jobs not run \(--resume continues\)" err
cp out first.out
check "the jobs beside the failure finished, and some were left ($(joblog_ok h.joblog | wc -l) recorded)" \
	test "$(joblog_ok h.joblog | wc -l)" -ge 2 -a "$(joblog_ok h.joblog | wc -l)" -lt 10
expect_eq "the failure is recorded as such" "$(awk -F'\t' '$7 == 7 { print $1 }' h.joblog)" 3
run_mpw -c h.ini --resume
expect_eq "--resume runs the rest: exit 0" "$rc" 0
expect_eq "between them, every good job ran once" "$(cat first.out out | sort -n | tr '\n' ' ')" "1 2 4 5 6 7 8 9 10 11 12 "

# now: the job running beside the failure is stopped, and not recorded.
printf 'sleep 0.2; exit 3\nsleep 5; echo slow\nsleep 5; echo never-started\n' > now.txt
printf '[pool]\nworkers = 2\njoblog = now.joblog\nhalt = now,fail=1\n[jobs]\nfile = now.txt\n' > now.ini
start=$(date +%s)
run_mpw -c now.ini
expect_eq "now,fail=1 from the INI: exit 6" "$rc" 6
check "without waiting for the slow job" test $(( $(date +%s) - start )) -lt 4
expect_eq "only the failure is recorded" "$(tail -n +2 now.joblog | cut -f1,7 | tr '\t\n' ': ')" "1:3 "
run_mpw -c now.ini --resume -o pool.halt=never
expect_eq "--resume runs the stopped job and the rest" "$(sort out | tr '\n' ' ')" "never-started slow "

# success=1: stop at the first success; that is no failure.
printf 'sleep 1; echo late\necho found\nsleep 1; echo later\n' > s.txt
printf '[pool]\nworkers = 1\n[jobs]\nfile = s.txt\n' > s.ini
run_mpw -c s.ini --halt soon,success=1
expect_eq "soon,success=1: exit 0" "$rc" 0
expect_eq "after the first job" "$(cat out)" late

# A percentage is of the run's jobs: 2 failures of 10 halt at 20%, not at 30%.
for i in $(seq 1 10); do if [ "$i" -le 2 ]; then echo "exit 1"; else echo "echo $i"; fi; done > p.txt
printf '[pool]\nworkers = 1\n[jobs]\nfile = p.txt\n' > p.ini
run_mpw -c p.ini --halt soon,fail=20%
expect_eq "fail=20%: halted at 2 of 10" "$rc" 6
check "before the end (a job the worker held already may still run)" test "$(wc -l < out)" -lt 3
run_mpw -c p.ini --halt soon,fail=30%
expect_eq "fail=30%: never reached, all ran" "$rc $(wc -l < out)" "1 8"

# A bad halt is a configuration error.
run_mpw -c p.ini --halt sometimes
expect_eq "a bad --halt exits 2" "$rc" 2
expect_grep "saying what it takes" "\[pool\] halt: 'sometimes' is not never, or soon\|now,fail\|success\|done=N" err

finish
