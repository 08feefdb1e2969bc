# Several hosts drain one queue.  Each host is an mpworker in a network
# namespace of its own, reaching the database over a veth pair at the
# server's address on it.  On PostgreSQL and MariaDB: 30,000 SQL jobs, each
# inserting its number into a table with a unique key; one host is killed
# (kill -9 of all its processes) mid-run, another is stopped for longer
# than its lease and then continued; in a second run the database server
# restarts mid-run.  Every number must be there exactly once, and the
# queue empty.
. "$SRCDIR/tests/lib.sh"

if [ "$(id -u)" -ne 0 ] || ! ip netns list >/dev/null 2>&1; then
	fail "network namespaces need root and ip(8)"
	finish
fi
MPW_LISTEN=any private_servers all

HOSTS=3
N=30000
NET=10.$(( $$ % 200 + 20 ))
NS=mq$$
netns_down() {
	for k in $(seq 1 $HOSTS); do ip netns del "$NS$k" 2>/dev/null; done
}
hostpids=""
trap 'kill -9 $hostpids 2>/dev/null; netns_down; "$SRCDIR/tests/servers.sh" stop "$SERVERS" >/dev/null 2>&1; cleanup' EXIT
for k in $(seq 1 $HOSTS); do
	ip netns add "$NS$k" &&
	ip link add "${NS}r$k" type veth peer name "${NS}n$k" netns "$NS$k" &&
	ip addr add "$NET.$k.1/24" dev "${NS}r$k" &&
	ip link set "${NS}r$k" up &&
	ip -n "$NS$k" addr add "$NET.$k.2/24" dev "${NS}n$k" &&
	ip -n "$NS$k" link set "${NS}n$k" up &&
	ip -n "$NS$k" link set lo up || { fail "cannot make network namespace $NS$k"; finish; }
done

# host_ini K: host K's config: the server at its end of host K's veth pair.
host_ini() {
	printf '[pool]\nworkers = 2\njoblog = %s.joblog.%s\n[jobs]\ntype = sql\nsource = queue\n' "$DRIVER" "$1"
	printf '[database]\ndriver = %s\nhost = %s\nport = %s\nuser = mpw\npassword_file = %s/pw\ndbname = mpw\n' \
		"$DRIVER" "$NET.$1.1" "$port" "$T"
	printf '[queue]\ntable = hq\nlease = 2\nbatch = 32\n'
	# Host 2 runs a job a transaction, one round trip at a time: so when
	# it holds more jobs than it has workers, some are not yet begun.
	if [ "$1" = 2 ]; then printf '[sql]\nbatch = 1\npipeline = no\n'; else printf '[sql]\nbatch = 8\n'; fi
}

# start_hosts: each host in its namespace, in a process group of its own.
start_hosts() {
	for k in $(seq 1 $HOSTS); do
		host_ini "$k" > "h$k.ini"
		setsid ip netns exec "$NS$k" "$MPWORKER" --no-progress -c "h$k.ini" >"out.$k" 2>"err.$k" &
		eval "pid$k=$!"
		hostpids="$hostpids $!"
	done
}

done_at_least() { [ "$(q "SELECT count(*) FROM $L")" -ge "$1" ]; }
# Host 2 holds jobs it has not begun (more than its two workers run).
host2_ahead() { [ "$(q "SELECT count(*) FROM hq WHERE owner LIKE '%:$pid2:%'")" -ge 3 ]; }

for DRIVER in postgresql mysql; do
	. "$SRCDIR/tests/dblib.sh"
	L=hl_$DRIVER
	case $DRIVER in
	postgresql) port=$MPW_PG_PORT; pause="pg_sleep(0.001)"; short=pg ;;
	mysql) port=$MPW_MY_PORT; pause="(SELECT SLEEP(0.001)) x"; short=my ;;
	esac
	q "CREATE TABLE $L (id INTEGER PRIMARY KEY)"
	{ printf '[jobs]\ntype = sql\nsource = queue\n'; db_section; printf '[queue]\ntable = hq\n'; } > admin.ini
	run_mpw -c admin.ini --queue-init
	expect_eq "$DRIVER: the queue's tables are made" "$rc" 0
	seq 1 $N | sed "s/.*/INSERT INTO $L SELECT & FROM $pause/" > jobs.sql
	run_mpw -c admin.ini --enqueue - < jobs.sql
	expect_grep "$DRIVER: $N jobs enqueued" "enqueued $N jobs" out

	# A host killed, another stopped past its lease.
	start_hosts
	wait_for 60 done_at_least 4000 || fail "$DRIVER: the hosts did not get going"
	kill -9 -- "-$pid1"
	wait_for 60 done_at_least 8000 || fail "$DRIVER: the hosts left did not go on"
	wait_for 30 host2_ahead || fail "$DRIVER: host 2 never held jobs ahead"
	kill -STOP -- "-$pid2"
	sleep 5
	kill -CONT -- "-$pid2"
	wait "$pid2"
	rc2=$?
	wait "$pid3"
	rc3=$?
	expect_eq "$DRIVER: the hosts left end well" "$rc2 $rc3" "0 0"
	expect_eq "$DRIVER: every job's row is there exactly once" \
		"$(q "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM $L" | tr '\t' ' ')" "$N $N 1 $N"
	expect_eq "$DRIVER: the queue is empty, nothing dead" \
		"$(q "SELECT count(*) FROM hq") $(q "SELECT count(*) FROM hq_dead")" "0 0"
	cat err.2 err.3 > err.left
	expect_grep "$DRIVER: the killed host's jobs were rescued" "stopped renewing its lease" err.left
	expect_grep "$DRIVER: the stopped host says its leases were lost" "lease was lost" err.2
	for k in 2 3; do
		check "$DRIVER: host $k did some of the work" ok_at_least 1 "$DRIVER.joblog.$k"
	done

	# The server restarts mid-run: every host reconnects, and finishes.
	q "DELETE FROM $L"
	run_mpw -c admin.ini --enqueue - < jobs.sql
	start_hosts
	wait_for 60 done_at_least 4000 || fail "$DRIVER: the hosts did not get going"
	"$SRCDIR/tests/servers.sh" restart "$SERVERS" $short >>servers.out 2>&1 || fail "$DRIVER: the restart failed"
	bad=0
	for k in $(seq 1 $HOSTS); do eval "wait \$pid$k" || bad=$((bad + 1)); done
	expect_eq "$DRIVER: after a server restart every host ends well" "$bad" 0
	expect_eq "$DRIVER: ... and every job's row is there exactly once" \
		"$(q "SELECT count(*), count(DISTINCT id) FROM $L" | tr '\t' ' ')" "$N $N"
	expect_eq "$DRIVER: ... and the queue is empty" "$(q "SELECT count(*) FROM hq") $(q "SELECT count(*) FROM hq_dead")" "0 0"
	cat err.1 err.2 err.3 > err.all
	expect_grep "$DRIVER: the hosts said they reconnected" "reconnected" err.all
done
finish
