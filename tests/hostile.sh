# Hostile input: NUL bytes, overlong lines, tampered and torn joblogs.
# Nothing may run cut short, and a joblog that is not one is refused
# with a clear error, never misread.
. "$SRCDIR/tests/lib.sh"

# A NUL byte in a command line: the job fails, nothing of it runs.
printf 'echo hi\000; touch cut\ntouch fine\n' > nul.txt
printf '[pool]\nworkers = 2\njoblog = nul.joblog\n[jobs]\nfile = nul.txt\n' > nul.ini
run_mpw -c nul.ini
expect_eq "a NUL byte in a command fails the run" "$rc" 1
check "the command before the NUL did not run" test ! -e cut
check "the next line ran" test -e fine
expect_grep "the log says why" "job 1 failed: the job line holds a NUL byte at offset 7; not run" err
expect_eq "the joblog records it as failed" "$(joblog_field nul.joblog 1 7)" 255
expect_eq "the joblog shows the NUL, escaped" "$(joblog_field nul.joblog 1 9)" 'echo hi\0; touch cut'

# The same through a template: nothing past the NUL reaches the shell either.
printf '[pool]\nworkers = 1\n[jobs]\nfile = nul2.txt\n[command]\ntemplate = touch {1}\n' > nul2.ini
printf 'a\000b\n' > nul2.txt
run_mpw -c nul2.ini
expect_eq "a NUL byte in a templated job fails it" "$rc" 1
check "no file a was made" test ! -e a

# SQL on SQLite: the statement past the NUL must not run as "DELETE FROM t".
if [ -e "$BUILDDIR/drivers/sqlite.so" ]; then
	sqlite3 t.db "CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1), (2), (3);"
	printf 'DELETE FROM t\000 WHERE id = 2\n' > del.sql
	printf '[pool]\nworkers = 1\n[jobs]\ntype = sql\nfile = del.sql\n[database]\ndriver = sqlite\npath = t.db\n' > del.ini
	run_mpw -c del.ini
	expect_eq "a NUL byte in an SQL job fails the run" "$rc" 1
	expect_eq "no row was deleted" "$(sqlite3 t.db 'SELECT count(*) FROM t')" 3
fi

# Lines just past the limit, whose newline arrives in the same read as the
# limit is passed: a failed job each, never a crashing worker.
python3 - <<'PY'
with open("long.txt", "w") as f:
    for n in (1048513, 1048561, 1080000, 1114047):
        f.write("echo " + "x" * (n - 5) + "\n")
    f.write("true\n")
PY
printf '[pool]\nworkers = 2\njoblog = long.joblog\nretries = 2\n[jobs]\nfile = long.txt\n' > long.ini
run_mpw -c long.ini
expect_eq "overlong lines fail the run" "$rc" 1
expect_grep "each is a failed job" "5 jobs: 1 succeeded, 4 failed, 0 retried; 0 workers replaced" err
expect_no_grep "no worker died over them" "worker [0-9]+ .*(exited|killed)" err
expect_eq "and the joblog records each once" "$(awk -F'\t' 'NR > 1 { print $1 }' long.joblog | sort -n | tr '\n' ' ')" "1 2 3 4 5 "

# A torn last line is cut off before --resume appends: the next record
# starts its own line, and a failed job stays failed for --resume-failed.
printf '[pool]\nworkers = 1\njoblog = torn.joblog\n[jobs]\njob = true\njob = test -e fixed\n' > torn.ini
run_mpw -c torn.ini
expect_eq "job 2 fails first" "$rc" 1
# The crash tore job 2's line; the first run's line for it is gone too.
head -2 torn.joblog > torn.tmp && printf '2\t:\t1' >> torn.tmp && mv torn.tmp torn.joblog
run_mpw -c torn.ini --resume
expect_eq "--resume runs job 2 again, which fails again" "$rc" 1
expect_grep "the torn line is reported" "dropping a torn last line \\(5 bytes\\)" err
expect_eq "every line of the joblog is a record of its own" \
	"$(awk -F'\t' 'NR > 1 { print $1 "/" NF }' torn.joblog | tr '\n' ' ')" "1/9 2/9 "
touch fixed
run_mpw -c torn.ini --resume-failed
expect_eq "--resume-failed runs the failed job 2 again" "$rc" 0
expect_eq "and records its success" "$(joblog_ok torn.joblog | tr '\n' ' ')" "1 2 "

# A tampered joblog is refused with the line to blame; nothing runs.
hdr=$(printf 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand')
for seq in -1 99999999999999999999 0 x1 ' 1'; do
	{ echo "$hdr"; printf '1\t:\t0\t0\t0\t0\t0\t0\ttrue\n'; printf '%s\t:\t0\t0\t0\t0\t0\t0\ttrue\n' "$seq"; } > bad.joblog
	printf '[pool]\njoblog = bad.joblog\n[jobs]\njob = touch ran\n' > bad.ini
	run_mpw -c bad.ini --resume
	expect_eq "Seq '$seq': refused with exit 2" "$rc" 2
	expect_grep "Seq '$seq': the error names the line" "bad.joblog:3: not a joblog record: its Seq is not a job number" err
	check "Seq '$seq': nothing ran" test ! -e ran
done
# A huge but valid Seq costs no memory to speak of.
{ echo "$hdr"; printf '99999999999999\t:\t0\t0\t0\t0\t0\t0\ttrue\n18446744073709551615\t:\t0\t0\t0\t0\t0\t0\ttrue\n'; } > big.joblog
printf '[pool]\njoblog = big.joblog\n[jobs]\njob = touch ran\n' > big.ini
run_mpw -c big.ini --resume
expect_eq "a joblog of huge job numbers resumes" "$rc" 0
check "and job 1 ran" test -e ran
{ echo "$hdr"; printf '1\t:\t0\t0\t0\t0\tzero\t0\ttrue\n'; } > bad.joblog
run_mpw -c bad.ini --resume
expect_grep "a bad Exitval is refused" "bad.joblog:2: not a joblog record: its Exitval is not a number" err
{ echo "$hdr"; printf '1\t:\t0\t0\t0\t0\t0\t0\n'; } > bad.joblog
run_mpw -c bad.ini --resume
expect_grep "a short line is refused" "bad.joblog:2: not a joblog record: fewer than 9" err

# A placeholder in double quotes is escaped for them: the job line is data.
printf '[pool]\nworkers = 1\n[jobs]\njob = $(touch pwned)`touch pwned2` "\\$HOME\n[command]\ntemplate = echo "file: {}"\n' > dq.ini
run_mpw -c dq.ini
expect_eq "a template with {} in double quotes runs" "$rc" 0
expect_eq "the job line is printed as it is" "$(cat out)" 'file: $(touch pwned)`touch pwned2` "\$HOME'
check "and nothing in it ran" test ! -e pwned -a ! -e pwned2
# In single quotes (a nested shell) no quoting can help: refused at load.
printf '[jobs]\njob = x;touch${IFS}pwned\n[command]\ntemplate = sh -c '"'"'echo {1}'"'"'\n' > sq.ini
run_mpw -c sq.ini
expect_eq "a placeholder in single quotes is a config error" "$rc" 2
expect_grep "naming the line and saying why" "sq.ini:4: \[command\] template: \{1\} is inside single quotes" err
check "nothing ran" test ! -e pwned

# A job's background process that writes after the job ended does not
# write into the next job's output.
printf '[pool]\nworkers = 1\njoblog = bg.joblog\n[jobs]\njob = (sleep 0.3; echo late) &\njob = sleep 0.8; echo second\n' > bg.ini
run_mpw -c bg.ini
expect_eq "the next job's output is its own" "$(cat out)" "second"
expect_eq "and so is its Receive count" "$(joblog_field bg.joblog 2 6)" 7

# The longest job_timeout the config allows (1e9 s, past what an int of
# milliseconds holds) is a timeout like any other, not an overflow.
printf '[pool]\nworkers = 1\njob_timeout = 1000000000\n[jobs]\njob = sleep 0.1\njob = true\n' > longto.ini
run_mpw -c longto.ini
expect_eq "a job_timeout of 1e9 s runs the jobs" "$rc" 0

finish
