# A full disk under the joblog or the output: mpworker stops taking jobs,
# lets those in hand finish, records what it can, and exits 5 saying how
# many results went unrecorded.  Nothing is reported done that is not
# recorded, so a --resume afterwards runs every job at least once.
. "$SRCDIR/tests/lib.sh"

mkdir small
if ! mount -t tmpfs -o size=32k tmpfs small 2>/dev/null; then
	echo "SKIP: cannot mount a small tmpfs here (needs root)"
	exit 77
fi
umount_small() { umount "$T/small" 2>/dev/null; cleanup; }
trap umount_small EXIT

# The joblog's disk fills: 3,000 jobs, room for a couple of hundred records.
seq 1 3000 > jobs.txt
cat > full.ini <<INI
[pool]
workers = 4
joblog = $T/small/run.joblog
[jobs]
file = jobs.txt
[command]
template = echo {1} >> $T/ran
INI
run_mpw -c full.ini
expect_eq "a full joblog disk ends the run with exit 5" "$rc" 5
expect_grep "the error names the file and the error" "cannot write joblog $T/small/run.joblog: No space left on device" err
expect_grep "it says how many results went unrecorded" "joblog $T/small/run.joblog: [0-9]+ results could not be written" err
lost=$(sed -n 's/.*: \([0-9]*\) results could not be written.*/\1/p' err)
ran=$(wc -l < ran)
recorded=$(joblog_ok small/run.joblog | wc -l)
check "it stopped taking jobs (ran $ran of 3000)" test "$ran" -lt 3000
expect_eq "every job that ran is recorded or counted as unrecorded" "$((recorded + lost))" "$ran"
expect_eq "the joblog holds whole lines only" "$(tail -c 1 small/run.joblog | od -An -c | tr -d ' ')" '\n'

# Once there is room, --resume runs what is left: every job at least once,
# and none of those recorded twice.
mount -o remount,size=4m small
run_mpw -c full.ini --resume
expect_eq "--resume after making room exits 0" "$rc" 0
expect_eq "every job is recorded as done" "$(joblog_ok small/run.joblog | sort -nu | wc -l)" 3000
expect_eq "every job ran at least once" "$(sort -nu ran | wc -l)" 3000
expect_eq "only the unrecorded ones ran twice" "$(wc -l < ran)" "$((3000 + lost))"

# The output's disk fills: a job whose output could not be written fails,
# and --resume-failed runs it again once there is room.
rm -f small/*
mount -o remount,size=32k small
seq 1 400 > out.txt
cat > out.ini <<INI
[pool]
workers = 2
joblog = out.joblog
[jobs]
file = out.txt
[command]
template = printf '%0200d\\n' {1}
INI
"$MPWORKER" --no-progress -c out.ini > small/out 2>err
rc=$?
expect_eq "a full output disk ends the run with exit 5" "$rc" 5
expect_grep "the error says job output could not be written" "cannot write job output \\(No space left on device\\)" err
expect_grep "the job whose output was lost failed" "failed: its output could not be written: No space left on device" err
whole=$(grep -cE '^[0-9]{200}$' small/out)
expect_eq "the jobs recorded as done are those whose output is whole" "$(joblog_ok out.joblog | wc -l)" "$whole"
mount -o remount,size=4m small
"$MPWORKER" --no-progress -c out.ini --resume-failed > small/out2 2>err
expect_eq "--resume-failed with room exits 0" "$?" 0
expect_eq "now every job's output is there" "$({ cat small/out; echo; cat small/out2; } | grep -aE '^[0-9]{200}$' | sort -u | wc -l)" 400

# A closed pipe on stdout: the same, not a run that goes on printing nowhere.
seq 1 2000 > pipe.txt
printf '[pool]\nworkers = 2\njoblog = pipe.joblog\n[jobs]\nfile = pipe.txt\n[command]\ntemplate = echo {1}\n' > pipe.ini
( "$MPWORKER" --no-progress -c pipe.ini 2>pipe.err; echo $? > pipe.rc ) | head -n 1 > /dev/null
expect_eq "stdout closed by its reader ends the run with exit 5" "$(cat pipe.rc)" 5
expect_grep "the error says so" "cannot write job output \\(Broken pipe\\)" pipe.err
check "it stopped early" test "$(awk 'NR > 1' pipe.joblog | wc -l)" -lt 2000

finish
