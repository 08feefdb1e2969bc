# Chaos: 20,000 SQL jobs and 2,000 commands while workers are SIGKILLed
# every 100-300 ms, the database restarts once and a worker is stopped past
# job_timeout.  What must hold: the documented exit status, every key in
# the table, every job recorded as succeeded exactly once, no process of
# the run left behind; and over 100,000 jobs no descriptor leaks.
. "$SRCDIR/tests/lib.sh"

private_servers pg
DRIVER=postgresql
. "$SRCDIR/tests/dblib.sh"

# killer MPW_PID: SIGKILL a random worker every 100-300 ms until the run ends.
killer() {
	while kill -0 "$1" 2>/dev/null; do
		w=$(pgrep -P "$1" | grep -vx "$(cat stopped 2>/dev/null || echo 0)" | shuf -n 1)
		[ -n "$w" ] && kill -9 "$w" 2>/dev/null && echo "$w" >> kills
		sleep "0.$(shuf -i 1-3 -n 1)"
	done
}

# stop_one MPW_PID: SIGSTOP one worker; the parent must kill it after job_timeout and its grace.
stop_one() {
	w=$(pgrep -P "$1" | head -1)
	[ -n "$w" ] && kill -STOP "$w" && echo "$w" > stopped
}

# Nothing of the run outlives it: no process whose command line names its config.
left_behind() {
	pgrep -f "$T/$1" | wc -l
}

q "CREATE TABLE chaos (k INTEGER PRIMARY KEY)"
# Each statement takes 2 ms on the server, so the run lasts long enough for the chaos.
seq 1 20000 | awk '{ printf "INSERT INTO chaos SELECT %d FROM pg_sleep(0.002) ON CONFLICT DO NOTHING\n", $1 }' > sql.txt
{ printf '[pool]\nworkers = 4\nretries = 20\njob_timeout = 1\njoblog = sql.joblog\n[jobs]\ntype = sql\nfile = sql.txt\n'; db_section; } > sql.ini
"$MPWORKER" --no-progress -c "$T/sql.ini" >sql.out 2>sql.err &
mpw=$!
wait_for 30 ok_at_least 500 sql.joblog || fail "SQL jobs did not start"
# The worker is stopped before the killer starts, so that the killer,
# which passes over the stopped one, can never pick it first.
stop_one $mpw
killer $mpw &
kpid=$!
sleep 1
"$SRCDIR/tests/servers.sh" restart "$SERVERS" pg >>servers.out 2>&1 || fail "the database restart failed"
wait $mpw; rc=$?
wait $kpid
expect_eq "SQL under chaos: exit 0, every job done after its retries" "$rc" 0
check "workers were killed ($(wc -l < kills) times)" test "$(wc -l < kills)" -ge 3
expect_grep "the stopped worker was killed (past job_timeout, or when retired)" \
	"killed: (job [0-9]+ ran past job_timeout|it did not exit)" sql.err
expect_eq "every key is in the table" "$(q 'SELECT count(*), min(k), max(k) FROM chaos')" "$(printf '20000\t1\t20000')"
expect_eq "every job is recorded as succeeded exactly once" \
	"$(joblog_ok sql.joblog | uniq | wc -l) $(joblog_ok sql.joblog | wc -l)" "20000 20000"
expect_eq "no process of the run is left" "$(left_behind sql.ini)" 0
check "the stopped worker is gone" sh -c "! kill -0 $(cat stopped 2>/dev/null || echo 999999) 2>/dev/null"

# 2,000 commands under the same killing.
rm -f kills
seq 1 2000 > cmds.txt
printf '[pool]\nworkers = 4\nretries = 20\njoblog = cmd.joblog\n[jobs]\nfile = cmds.txt\n[command]\ntemplate = echo {1} >> ran; sleep 0.0503\n' > cmd.ini
"$MPWORKER" --no-progress -c "$T/cmd.ini" >cmd.out 2>cmd.err &
mpw=$!
wait_for 30 ok_at_least 50 cmd.joblog || fail "commands did not start"
killer $mpw &
kpid=$!
wait $mpw; rc=$?
wait $kpid
expect_eq "commands under chaos: exit 0" "$rc" 0
check "workers were killed ($(wc -l < kills) times)" test "$(wc -l < kills)" -ge 3
expect_eq "every command ran at least once" "$(sort -nu ran | wc -l)" 2000
expect_eq "every command is recorded as succeeded exactly once" \
	"$(joblog_ok cmd.joblog | uniq | wc -l) $(joblog_ok cmd.joblog | wc -l)" "2000 2000"
expect_eq "no process of the run is left" "$(left_behind cmd.ini)" 0
# A sleep of its own length: pgrep sees every test's processes, and progress.sh sleeps 0.05.
expect_eq "no command of the run is left" "$(pgrep -fc 'sleep 0.0503')" 0

# Descriptors: a service's over 100,000 jobs, with workers killed now and
# then.  One worker (the watched one) is spared, to compare it with itself.
mkfifo fd.fifo
printf '[pool]\nworkers = 4\nretries = 5\njoblog = fd.joblog\n[jobs]\ntype = sql\nfile = fd.fifo\n[database]\ndriver = sqlite\npath = fd.db\ncreate = yes\n' > fd.ini
"$MPWORKER" --service --no-progress -c "$T/fd.ini" >fd.out 2>fd.err &
svc=$!
exec 7>fd.fifo
yes "SELECT 1" | head -n 20000 >&7
all_done() { [ "$(joblog_ok fd.joblog | sort -nu | wc -l)" -ge "$1" ]; }
wait_for 60 all_done 20000 || fail "the first 20,000 jobs did not finish"
before=$(ls /proc/$svc/fd | wc -l)
watched=$(pgrep -P $svc | head -1)
wbefore=$(ls /proc/$watched/fd | wc -l)
for round in 2 3 4 5; do
	yes "SELECT 1" | head -n 20000 >&7
	kill -9 "$(pgrep -P $svc | grep -vx "$watched" | shuf -n 1)" 2>/dev/null
	wait_for 60 all_done $((round * 20000)) || fail "jobs up to $((round * 20000)) did not finish"
done
expect_eq "the supervisor holds as many descriptors after 100,000 jobs" "$(ls /proc/$svc/fd | wc -l)" "$before"
expect_eq "and so does a worker after 80,000 more" "$(ls /proc/$watched/fd | wc -l)" "$wbefore"
exec 7>&-
kill -TERM $svc
wait $svc
expect_eq "no process of the service is left" "$(left_behind fd.ini)" 0

finish
