# The program under valgrind (memcheck), parent and forked workers alike:
# SQL jobs on each driver (PostgreSQL's pipelined), rename jobs, commands
# with fan-in steps, kept order and results files, a worker killed
# mid-job, a queue, and a service answering --status, --metrics, HTTP and
# a reload before it stops.  Any memory error, or a block definitely
# lost, fails.  The plain build only: the sanitizers check the other.
. "$SRCDIR/tests/lib.sh"

command -v valgrind >/dev/null || skip "no valgrind here (install valgrind)"
# Both servers, for dblib.sh sourced once per driver below.
[ -n "${MPW_SERVERS:-}" ] && [ -f "$MPW_SERVERS/env" ] || private_servers all
# Each process writes its own log; children of a fork are checked too.
VG="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite --log-file=$T/vg/%p.log"
vg() { $VG "$MPWORKER" --no-progress "$@"; }
mkdir vg
# clean NAME: no process of the scenario reported an error; the logs go.
clean() {
	local bad
	bad=$(cat vg/*.log 2>/dev/null)
	if [ -z "$bad" ]; then ok "$1: valgrind finds nothing"; else fail "$1: valgrind:"; head -60 vg/*.log; fi
	rm -f vg/*.log
}

# SQL jobs on SQLite, three workers.
seq 1 60 | sed 's/.*/INSERT INTO t VALUES (&);/' > lite.sql
printf '[pool]\nworkers = 3\njoblog = lite.joblog\n[database]\ndriver = sqlite\npath = lite.db\ncreate = yes\ninit = CREATE TABLE IF NOT EXISTS t (n INTEGER)\ninit = PRAGMA busy_timeout = 5000\n[jobs]\ntype = sql\nfile = lite.sql\n' > lite.ini
vg -c lite.ini >out 2>err
expect_eq "sqlite: exit 0" "$?" 0
clean sqlite

# Commands: fan-in steps, input order, results files, tagged output.
seq 1 12 | sed 's/.*/echo line &/' > cmds.txt
cat > cmd.ini <<'INI'
[pool]
workers = 3
joblog = cmd.joblog
[jobs]
file = cmds.txt
group = {1}
then = echo then {group}
finally = echo finally
[output]
keep_order = yes
tag = yes
results = res/{#}.out
INI
vg -c cmd.ini >out 2>err
expect_eq "commands with steps, order and results: exit 0" "$?" 0
expect_eq "every job's result file is there" "$(ls res/*.out | wc -l)" 12
clean commands

# A worker killed in the middle of a job: replaced, the job retried.
printf '[pool]\nworkers = 2\nretries = 1\n[jobs]\njob = sleep 1\njob = kill -9 $PPID\njob = true\n' > crash.ini
vg -c crash.ini >out 2>err
clean "a killed worker"

# Rename jobs, their new names looked up in SQLite.
mkdir ren
for i in 1 2 3 4 5; do : > ren/f$i.dat; done
sqlite3 names.db "CREATE TABLE names (old TEXT, new TEXT); $(for i in 1 2 3 4 5; do printf "INSERT INTO names VALUES ('f%s.dat', 'g%s.dat');" $i $i; done)"
printf '[pool]\nworkers = 2\n[database]\ndriver = sqlite\npath = names.db\n[jobs]\ntype = rename\n[rename]\ndirectory = ren\nextensions = dat\nlookup = SELECT new FROM names WHERE old = ?\n' > ren.ini
vg -c ren.ini >out 2>err
expect_eq "rename: every file has its new name" "$(ls ren | tr '\n' ' ')" "g1.dat g2.dat g3.dat g4.dat g5.dat "
clean rename

# PostgreSQL (pipelined) and MariaDB; then a queue on PostgreSQL.
for DRIVER in postgresql mysql; do
	. "$SRCDIR/tests/dblib.sh"
	q "CREATE TABLE $TBL (id INTEGER PRIMARY KEY, v VARCHAR(20))"
	seq 1 200 | sed "s/.*/INSERT INTO $TBL VALUES (&, 'v')/" > db.sql
	{ printf '[pool]\nworkers = 2\n[jobs]\ntype = sql\nfile = db.sql\n'; db_section; } > db.ini
	vg -c db.ini >out 2>err
	expect_eq "$DRIVER: every row is there" "$(q "SELECT count(*) FROM $TBL")" 200
	q "DROP TABLE $TBL"
	clean "$DRIVER"
done
DRIVER=postgresql
. "$SRCDIR/tests/dblib.sh"
{ printf '[pool]\nworkers = 2\n[jobs]\nsource = queue\n'; db_section; printf '[queue]\ntable = vq%s\n' $$; } > q.ini
"$MPWORKER" -c q.ini --queue-init >/dev/null 2>&1
seq 1 30 | sed 's/.*/echo &/' | "$MPWORKER" -c q.ini --enqueue - >/dev/null 2>&1
vg -c q.ini >out 2>err
expect_eq "queue: every job ran" "$(wc -l < out)" 30
q "DROP TABLE vq$$; DROP TABLE vq${$}_dead"
clean queue

# A service: jobs from a FIFO, the status socket, HTTP, a reload, a stop.
mkfifo svc.fifo
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf '[pool]\nworkers = 2\njoblog = svc.joblog\n[jobs]\nfile = svc.fifo\n[status]\nsocket = svc.sock\nlisten = 127.0.0.1:%s\n' "$port" > svc.ini
$VG "$MPWORKER" --service -c svc.ini >svc.out 2>svc.err &	# $! is the service itself
svc=$!
check "service: the socket appears" wait_for 60 test -S svc.sock
feed "echo one" svc.fifo
feed "false" svc.fifo
ready() { "$MPWORKER" --status -c svc.ini 2>/dev/null | grep -q "2 workers"; }
check "service: --status answers" wait_for 30 ready
"$MPWORKER" --status --json -c svc.ini >/dev/null 2>&1
"$MPWORKER" --metrics -c svc.ini >/dev/null 2>&1
curl -s "http://127.0.0.1:$port/metrics" >/dev/null
curl -s "http://127.0.0.1:$port/status" >/dev/null
curl -s "http://127.0.0.1:$port/nothing" >/dev/null
sed -i 's/^workers = 2/workers = 3/' svc.ini
"$MPWORKER" --reload -c svc.ini >out 2>err
expect_eq "service: --reload: exit 0" "$?" 0
feed "echo two" svc.fifo
check "service: a job after the reload runs" wait_for 30 grep -q two svc.out
kill -TERM $svc
wait $svc
expect_eq "service: stops with exit 0" "$?" 0
clean service
finish
