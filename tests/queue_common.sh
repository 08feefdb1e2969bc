# The queue as a job source, on one host, against $DRIVER: the commands
# that manage it, exactly-once SQL jobs, retries with backoff, the dead
# table, MPW_JOB_ID and MPW_ATTEMPT, stale acknowledgements, many
# claimers at once, a stop that gives claimed jobs back, and bad input.
. "$SRCDIR/tests/lib.sh"
. "$SRCDIR/tests/dblib.sh"

QT=q$$
L=l$$
q "CREATE TABLE $L (id INTEGER PRIMARY KEY)"

# conf TYPE [LINE...]: a queue config; LINEs go in [queue].
conf() {
	local type=$1
	shift
	printf '[pool]\nworkers = 4\n[jobs]\ntype = %s\nsource = queue\n' "$type"
	db_section
	printf '[queue]\ntable = %s\nlease = 3\nbackoff = 0.2\nbackoff_max = 0.5\n' "$QT"
	for line in "$@"; do echo "$line"; done
}

rows() { q "SELECT count(*) FROM $QT"; }
dead() { q "SELECT count(*) FROM ${QT}_dead"; }

# --- the tables ------------------------------------------------------------

conf sql > q.ini
run_mpw -c q.ini
expect_eq "$DRIVER: no queue table: the run cannot start" "$rc" 3
expect_grep "$DRIVER: ... and says how to make it" "queue-init" err
run_mpw -c q.ini --queue-init
expect_eq "$DRIVER: --queue-init makes the tables" "$rc" 0
run_mpw -c q.ini --queue-init
expect_eq "$DRIVER: --queue-init again changes nothing" "$rc" 0
expect_eq "$DRIVER: both tables are there, empty" "$(rows) $(dead)" "0 0"

q "CREATE TABLE bad$$ (id INTEGER PRIMARY KEY, job TEXT)"
q "CREATE TABLE bad${$}_dead (id INTEGER PRIMARY KEY)"
conf sql | sed "s/^table = .*/table = bad$$/" > bad.ini
run_mpw -c bad.ini
expect_eq "$DRIVER: a table of the wrong shape: the run cannot start" "$rc" 3
expect_grep "$DRIVER: ... and says so" "not of mpworker's shape" err

conf sql | sed 's/^table = .*/table = x;DROP/' > inj.ini
run_mpw -c inj.ini --queue-init
expect_eq "$DRIVER: a table name that is not one is a config error" "$rc" 2

# --- enqueue and exactly-once SQL -----------------------------------------

seq 1 2000 | sed "s/.*/INSERT INTO $L VALUES (&)/" > jobs.sql
"$MPWORKER" -c q.ini --enqueue - < jobs.sql > out 2>err
expect_eq "$DRIVER: --enqueue from standard input" "$?" 0
expect_grep "$DRIVER: ... says how many" "enqueued 2000 jobs" out
run_mpw -c q.ini --queue-status
expect_grep "$DRIVER: --queue-status counts them ready" "ready +2000" out
run_mpw -c q.ini --joblog q.joblog
expect_eq "$DRIVER: the queue drains" "$rc" 0
expect_eq "$DRIVER: every job's row is there exactly once" \
	"$(q "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM $L" | tr '\t' ' ')" "2000 2000 1 2000"
expect_eq "$DRIVER: the queue is empty" "$(rows) $(dead)" "0 0"
expect_eq "$DRIVER: the joblog records each job done" "$(joblog_ok q.joblog | wc -l)" 2000

# Batches: one transaction each, fenced together.
q "DELETE FROM $L"
"$MPWORKER" -q -c q.ini --enqueue - < jobs.sql >/dev/null
run_mpw -c q.ini -o sql.batch=16 -o queue.batch=100
expect_eq "$DRIVER: in batches of 16, every row exactly once" \
	"$(q "SELECT count(*), count(DISTINCT id) FROM $L" | tr '\t' ' ')" "2000 2000"
expect_eq "$DRIVER: ... and the queue is empty" "$(rows)" 0

# A failing statement: retried, then dead with its error; the rest are done.
q "DELETE FROM $L"
run_mpw -c q.ini --enqueue "INSERT INTO $L VALUES (1)" "INSERT INTO nosuch$$ VALUES (1)" "INSERT INTO $L VALUES (2)"
expect_eq "$DRIVER: --enqueue takes lines as arguments" "$rc" 0
run_mpw -c q.ini -o queue.attempts=2 --joblog f.joblog
expect_eq "$DRIVER: a job out of attempts: the run says some failed" "$rc" 1
expect_eq "$DRIVER: ... it was tried twice" "$(grep -c "nosuch$$" f.joblog)" 2
expect_eq "$DRIVER: ... and is dead, with its error" \
	"$(q "SELECT attempt, last_error LIKE '%nosuch$$%' FROM ${QT}_dead" | tr '\t' ' ' | sed 's/ t$/ 1/')" "2 1"
expect_eq "$DRIVER: the other jobs are done" "$(q "SELECT count(*) FROM $L")" 2
run_mpw -c q.ini --queue-retry all
expect_grep "$DRIVER: --queue-retry puts the dead job back" "1 dead job put back" out
expect_eq "$DRIVER: ... ready again, attempts reset" "$(q "SELECT attempt FROM $QT") $(dead)" "0 0"
q "DELETE FROM $QT"

# --- commands: MPW_JOB_ID, MPW_ATTEMPT, backoff ---------------------------

conf command > c.ini
run_mpw -c c.ini --enqueue 'echo "$MPW_JOB_ID $MPW_ATTEMPT" >> env.out; test "$MPW_ATTEMPT" -ge 2' 'exit 3'
id=$(q "SELECT min(id) FROM $QT")
run_mpw -c c.ini --joblog c.joblog
expect_eq "$DRIVER: a command out of attempts fails the run" "$rc" 1
expect_eq "$DRIVER: a command sees its job id and attempt" "$(cat env.out | tr '\n' ' ')" "$id 1 $id 2 "
expect_eq "$DRIVER: attempts default to 3" "$(q "SELECT attempt FROM ${QT}_dead")" 3
q "SELECT last_error FROM ${QT}_dead" > last_error
expect_grep "$DRIVER: the dead job's error is kept" "exit status 3" last_error
# Each retry waits at least the lower half of its backoff (0.2 s, doubling, jittered).
awk -F'\t' 'NR > 1 && $9 == "exit 3" { print $3 }' c.joblog | sort -n > starts
expect_eq "$DRIVER: three attempts in the joblog" "$(wc -l < starts)" 3
expect_eq "$DRIVER: ... each after its backoff" \
	"$(awk 'NR > 1 && $1 - prev < 0.1 { bad++ } { prev = $1 } END { print bad + 0 }' starts)" 0
q "DELETE FROM ${QT}_dead"

# --- a stale (id, attempt) changes nothing --------------------------------

# A job is taken over by another host (its attempt and owner change, as a
# claim after an expired lease would) while this host still holds it:
# for an SQL job, after it was claimed and before its transaction began
# (one worker is busy with a slow job meanwhile); for a command, while
# it runs.  Our late outcome must change nothing; the other "host"
# vanishes, the job is rescued and done once.
case $DRIVER in
postgresql) slow="INSERT INTO $L SELECT 999 FROM pg_sleep(1.5)"; later="now() + interval '1 second'" ;;
mysql) slow="INSERT INTO $L SELECT 999 FROM (SELECT SLEEP(1.5)) x"; later="NOW(6) + INTERVAL 1 SECOND" ;;
esac
q "DELETE FROM $L"
run_mpw -c q.ini --enqueue "$slow" "INSERT INTO $L VALUES (998)"
second=$(q "SELECT max(id) FROM $QT")
taken() { [ "$(q "SELECT count(*) FROM $QT WHERE owner IS NOT NULL")" = "${1:-1}" ]; }
taken2() { taken 2; }
"$MPWORKER" --no-progress -c q.ini -j 1 -o queue.lease=1 --joblog s.joblog >out 2>err &
mpw=$!
wait_for 10 taken2 || fail "$DRIVER: the two jobs were not claimed"
q "UPDATE $QT SET attempt = attempt + 1, owner = 'elsewhere:1:0', lease_until = $later WHERE id = $second"
wait $mpw
expect_eq "$DRIVER: the run ends once the jobs are done" "$?" 0
expect_grep "$DRIVER: the stale attempt is refused, and said so" "lease was lost" err
expect_eq "$DRIVER: its work did not stand; the rescued attempt's did, once" \
	"$(q "SELECT count(*) FROM $L WHERE id IN (998, 999)")" 2
expect_eq "$DRIVER: the joblog shows the refused attempt, then the job done" \
	"$(joblog_field s.joblog "$second" 7 | tr '\n' ' ')" "1 0 "
expect_eq "$DRIVER: the queue is empty" "$(rows)" 0

run_mpw -c c.ini --enqueue 'sleep 1.5; echo "$MPW_ATTEMPT" >> att.out'
"$MPWORKER" --no-progress -c c.ini -o queue.lease=1 >out 2>err &
mpw=$!
wait_for 10 taken || fail "$DRIVER: the slow command was not claimed"
sleep 0.2
q "UPDATE $QT SET attempt = attempt + 1, owner = 'elsewhere:1:0', lease_until = $later"
wait $mpw
expect_eq "$DRIVER: a command's stale acknowledgement: the run still ends well" "$?" 0
expect_grep "$DRIVER: ... the refused acknowledgement is said" "no longer this host's" err
expect_eq "$DRIVER: the command ran as attempt 1, and again as attempt 3" "$(cat att.out | tr '\n' ' ')" "1 3 "

# --- many claimers at once --------------------------------------------------

# 32 hosts, one worker and claims of at most 2 each: no claim returns more,
# and every job runs exactly once (nothing crashes, so at-least-once is once).
seq 1 400 | sed 's/.*/echo $MPW_JOB_ID >> many.out/' > many.jobs
run_mpw -c c.ini --enqueue - < many.jobs
pids=""
for i in $(seq 1 32); do
	"$MPWORKER" --no-progress -v -c c.ini -j 1 -o queue.batch=2 >/dev/null 2>claim.$i &
	pids="$pids $!"
done
bad=0
for p in $pids; do wait "$p" || bad=$((bad + 1)); done
expect_eq "$DRIVER: 32 hosts at once all end well" "$bad" 0
expect_eq "$DRIVER: no claim came back with more than its batch" \
	"$(cat claim.* | sed -n 's/.*claimed \([0-9]*\) of.*/\1/p' | awk '$1 > 2 { n++ } END { print n + 0 }')" 0
# Not all 32: on a loaded machine the last to start can find the queue drained.
claimers=$(grep -l 'claimed [12] of' claim.* | wc -l)
check "$DRIVER: claims were made by many hosts ($claimers of 32)" test "$claimers" -ge 8
expect_eq "$DRIVER: every job ran exactly once" "$(sort -n many.out | uniq | wc -l) $(wc -l < many.out)" "400 400"
expect_eq "$DRIVER: the queue is empty" "$(rows)" 0

# --- a worker dies ---------------------------------------------------------------

# Its attempt fails at once and goes back to the queue: the retry does not
# wait for the lease (a minute here), and the run ends.
run_mpw -c c.ini --enqueue 'if [ "$MPW_ATTEMPT" = 1 ]; then kill -9 $PPID; sleep 5; fi; echo "$MPW_ATTEMPT" >> wd.out'
run_mpw -c c.ini -o queue.lease=60 --joblog wd.joblog
expect_eq "$DRIVER: a job whose worker died is tried again" "$rc $(cat wd.out)" "0 2"
expect_eq "$DRIVER: ... its first attempt failed with the worker" "$(awk -F'\t' 'NR > 1 { print $8 }' wd.joblog | tr '\n' ' ')" "9 0 "
expect_eq "$DRIVER: ... and the retry did not wait for the lease" \
	"$(awk -F'\t' 'NR == 2 { a = $3 } NR == 3 { print ($3 - a < 30) }' wd.joblog)" 1

# --- the claimer dies ------------------------------------------------------------

# The claimer (the first process the host forks) is killed mid-run: another
# takes its place, the host's claimed jobs stay its own, nothing is lost.
seq 1 200 | sed 's/.*/sleep 0.02; echo $MPW_JOB_ID >> cl.out/' | "$MPWORKER" -q -c c.ini --enqueue - >/dev/null
"$MPWORKER" --no-progress -c c.ini -j 2 >out 2>err &
mpw=$!
wait_for 10 lines_at_least 20 cl.out || fail "$DRIVER: the jobs did not start"
claimer=$(pgrep -P $mpw | sort -n | head -1)
kill -9 "$claimer"
wait $mpw
expect_eq "$DRIVER: a run whose claimer was killed ends well" "$?" 0
expect_grep "$DRIVER: ... it says another claimer took over" "starting another" err
expect_eq "$DRIVER: ... every job ran" "$(sort -u cl.out | wc -l)" 200
expect_eq "$DRIVER: ... and the queue is empty" "$(rows) $(dead)" "0 0"

if [ "$DRIVER" = mysql ]; then
	q "EXPLAIN SELECT id FROM $QT WHERE queue = 'default' AND owner IS NULL AND run_at <= NOW(6)
		ORDER BY priority, run_at, id LIMIT 10 FOR UPDATE SKIP LOCKED" > explain.out
	expect_no_grep "$DRIVER: the claim's ORDER BY is served by the index, no filesort" "filesort" explain.out
	expect_grep "$DRIVER: ... the ready index" "_ready" explain.out
fi

# --- a stop gives claimed jobs back -------------------------------------------

seq 1 300 | sed 's/.*/sleep 0.05; echo & >> stop.out/' | "$MPWORKER" -q -c c.ini --enqueue - >/dev/null
"$MPWORKER" --no-progress -c c.ini -j 2 -o queue.batch=50 >out 2>err &
mpw=$!
wait_for 10 lines_at_least 10 stop.out || fail "$DRIVER: the jobs did not start"
kill -TERM $mpw
wait $mpw
expect_eq "$DRIVER: SIGTERM: interrupted" "$?" 4
left=$(rows)
expect_eq "$DRIVER: nothing lost: done and left add up" "$(( $(sort -u stop.out | wc -l) + left ))" 300
expect_eq "$DRIVER: what is left is nobody's, and was never run" \
	"$(q "SELECT count(*) FROM $QT WHERE owner IS NULL AND attempt = 0")" "$left"
run_mpw -c c.ini
expect_eq "$DRIVER: the next run does the rest" "$rc $(sort -u stop.out | wc -l) $(rows)" "0 300 0"

# --- renames, and a service ------------------------------------------------------

# Rename jobs from the queue: the files' paths are enqueued from a
# [rename] directory's listing; any host renames them, once.
M=m$$
q "CREATE TABLE $M (old_name VARCHAR(100) PRIMARY KEY, new_name VARCHAR(100))"
mkdir in
for i in 1 2 3; do echo "$i" > "in/f$i.dat"; q "INSERT INTO $M VALUES ('f$i.dat', 'g$i.dat')"; done
{ conf rename; printf '[rename]\ndirectory = in\nextensions = .dat\nlookup = SELECT new_name FROM %s WHERE old_name = $1\n' "$M"; } > r.ini
run_mpw -c r.ini --enqueue
expect_grep "$DRIVER: --enqueue takes what [rename] directory lists" "enqueued 3 jobs" out
run_mpw -c r.ini
expect_eq "$DRIVER: rename jobs from the queue" "$rc $(ls in | tr '\n' ' ')" "0 g1.dat g2.dat g3.dat "
expect_eq "$DRIVER: ... and the queue is empty" "$(rows)" 0
q "DROP TABLE $M"

# A service drains the queue as jobs arrive, and its status counts the queue.
{ cat c.ini; printf '[status]\nsocket = svc.sock\n'; } > cs.ini
"$MPWORKER" --service -c cs.ini >out 2>err &
svc=$!
run_mpw -c c.ini --enqueue 'echo arrived >> svc.out'
wait_for 20 lines_at_least 1 svc.out || fail "$DRIVER: the service did not take an enqueued job"
svc_status() { kill -USR1 $svc; grep -q "status: .*queue: 0 ready, 0 running" err; }
wait_for 20 svc_status || fail "$DRIVER: the service's status does not count the queue"
expect_grep "$DRIVER: the service's status counts the queue" "queue: 0 ready, 0 running, 0 waiting, [0-9]+ dead" err
metric() { "$MPWORKER" --metrics -c cs.ini 2>/dev/null | awk -v m="$1" '$1 == m { print $2 }'; }
expect_eq "$DRIVER: --metrics counts the queue too" "$(metric 'mpworker_queue_jobs{state="ready"}')" 0
"$MPWORKER" --metrics -c cs.ini > m.txt 2>&1
expect_eq "$DRIVER: ... and passes promtool" "$(promtool check metrics <m.txt 2>&1; echo "rc $?")" "rc 0"
if [ "$DRIVER" = postgresql ]; then
	# The claimer's is the one connection whose queries name the table.
	expect_eq "$DRIVER: the claimer's connection is cut" \
		"$(q "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND query LIKE '%$QT%'")" 1
	claimer_back() { [ "$(metric 'mpworker_db_reconnects_total{process="claimer"}')" = 1 ]; }
	check "$DRIVER: --metrics counts the claimer's reconnect" wait_for 30 claimer_back
	run_mpw -c c.ini --enqueue 'echo again >> svc.out'
	check "$DRIVER: ... and the service takes jobs after it" wait_for 20 lines_at_least 2 svc.out
fi
kill -TERM $svc
wait $svc
expect_eq "$DRIVER: the service stops cleanly" "$?" 0

# --- bad input ----------------------------------------------------------------

printf 'echo one\necho t\000wo\necho three\n' > nul.jobs
run_mpw -c c.ini --enqueue - < nul.jobs
expect_eq "$DRIVER: a line with a NUL byte is refused" "$rc" 1
expect_grep "$DRIVER: ... and said" "NUL byte; not enqueued" err
expect_grep "$DRIVER: ... the others are enqueued" "enqueued 2 jobs" out
if [ "$DRIVER" = postgresql ]; then
	printf 'echo \377\n' > utf.jobs
	run_mpw -c c.ini --enqueue - < utf.jobs
	expect_grep "$DRIVER: a line that is not UTF-8 is refused" "not valid UTF-8" err
fi
q "DELETE FROM $QT"

# A database that is down at start: a one-shot run stops with the reason,
# a service keeps trying.
conf command | sed '/^socket/d; s/^port.*//; /^\[database\]/a host = 127.0.0.1\nport = 1' > down.ini
run_mpw -c down.ini
expect_eq "$DRIVER: database down: a one-shot run cannot start" "$rc" 3
expect_grep "$DRIVER: ... and says why" "(refused|connect)" err
"$MPWORKER" --service -c down.ini >out 2>err &
svc=$!
sleep 2
check "$DRIVER: a service whose queue is down keeps trying" kill -0 $svc
expect_grep "$DRIVER: ... and says it will" "trying again" err
kill -TERM $svc
wait $svc

q "DROP TABLE $QT"
q "DROP TABLE ${QT}_dead"
q "DROP TABLE $L"
q "DROP TABLE bad$$"
q "DROP TABLE bad${$}_dead"
finish
