# Command jobs: N at a time, templates, failures, the joblog, dry runs.
. "$SRCDIR/tests/lib.sh"

# The shipped example runs as the README says.
run_mpw -c "$SRCDIR/etc/examples/commands.ini" --joblog example.joblog
expect_eq "the commands example exits 0" "$rc" 0
expect_eq "it runs all 12 commands" "$(joblog_ok example.joblog | wc -l)" 12
expect_grep "their output reaches stdout" "^kernel: " out
expect_grep "and stderr" "this job prints to stderr too" err
expect_grep "the report says 12 succeeded" "12 jobs: 12 succeeded, 0 failed" err

# Four at a time: never more, and at some point all four.
mkdir running
cat > c.ini <<'INI'
[pool]
workers = 4
joblog = run.joblog
[jobs]
file = jobs.txt
[command]
template = touch running/{1}; ls running | wc -l >> concurrency; sleep 0.3; rm running/{1}; echo job {1}
INI
seq 1 16 > jobs.txt
run_mpw -c c.ini
expect_eq "16 jobs exit 0" "$rc" 0
expect_eq "never more than 4 at once" "$(sort -n concurrency | tail -1)" 4
expect_eq "every job ran once" "$(sort -n out | uniq | wc -l) $(wc -l < out)" "16 16"
expect_eq "the joblog has a header and 16 lines" "$(wc -l < run.joblog)" 17
expect_eq "the joblog header is GNU parallel's" "$(head -1 run.joblog)" \
	"$(printf 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand')"
expect_eq "the joblog lists jobs 1..16" "$(joblog_ok run.joblog | tr '\n' ' ')" "$(seq 1 16 | tr '\n' ' ')"
expect_eq "Receive counts the output bytes" "$(joblog_field run.joblog 7 6)" "6"
expect_eq "Command is the job line" "$(joblog_field run.joblog 7 9)" "7"

# Fields are substituted shell-quoted: a hostile job line stays data.
cat > q.ini <<'INI'
[pool]
workers = 2
[jobs]
job = a;touch${IFS}pwned1 b
job = $(touch pwned2) 'x'
job = it's "quoted" `touch pwned3`
[command]
template = printf '<%s>\n' {1} {}
INI
run_mpw -c q.ini
expect_eq "quoted jobs exit 0" "$rc" 0
check "no field ran as shell code" test ! -e pwned1 -a ! -e pwned2 -a ! -e pwned3
expect_grep "the first field arrives intact" '^<a;touch\$\{IFS\}pwned1>$' out
expect_grep "the whole line arrives intact" "^<it's \"quoted\" \`touch pwned3\`>$" out

# A failing job is recorded with its status; the others still run.
cat > f.ini <<'INI'
[pool]
workers = 3
joblog = f.joblog
[jobs]
job = exit 0
job = exit 7
job = kill -USR2 $$
job = echo fine
INI
run_mpw -c f.ini
expect_eq "a failed job makes exit 1" "$rc" 1
expect_eq "its Exitval is recorded" "$(joblog_field f.joblog 2 7)" 7
expect_eq "a command killed by a signal records it" "$(joblog_field f.joblog 3 8)" 12
expect_grep "the log says why job 2 failed" "job 2 failed: exit status 7" err
expect_grep "and job 3" "job 3 failed: killed by signal 12" err
expect_eq "the good jobs succeed" "$(joblog_ok f.joblog | tr '\n' ' ')" "1 4 "
expect_grep "the report counts them" "4 jobs: 2 succeeded, 2 failed" err

# retries: a job that fails once then succeeds.
cat > r.ini <<'INI'
[pool]
workers = 2
retries = 2
joblog = r.joblog
[jobs]
job = if [ -e tried ]; then echo second try; else touch tried; exit 1; fi
INI
run_mpw -c r.ini
expect_eq "a job that succeeds on retry exits 0" "$rc" 0
expect_eq "the joblog has both attempts" "$(joblog_field r.joblog 1 7 | tr '\n' ' ')" "1 0 "
expect_grep "the report counts the retry" "1 retried" err

# --dry-run prints each command and runs nothing.
run_mpw -c c.ini --dry-run --joblog dry.joblog
expect_eq "--dry-run exits 0" "$rc" 0
expect_eq "it prints every command" "$(grep -c '^touch running/' out)" 16
expect_grep "with the template filled in" "^touch running/5; ls running" out
check "it writes no joblog" test ! -e dry.joblog
expect_eq "it ran nothing" "$(wc -l < concurrency)" 16

# Jobs from standard input.
printf '[pool]\nworkers = 2\n[jobs]\nfile = -\n' > s.ini
seq 1 50 | sed 's/^/echo /' | "$MPWORKER" -c s.ini --no-progress >out 2>err
expect_eq "jobs from stdin exit 0" "$?" 0
expect_eq "all 50 ran" "$(sort -n out | tr '\n' ' ')" "$(seq 1 50 | tr '\n' ' ')"

finish
