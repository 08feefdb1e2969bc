# Workload: the queue ([jobs] source = queue) on PostgreSQL, hosts in
# network namespaces of their own reaching the server over veth pairs.
#  - QN (100,000) no-op SQL jobs drained by 1, 2 and 3 hosts of WORKERS
#    workers each, with claims and transactions of 1, 16 and 128 jobs;
#  - QCMDS (4,000) 10 ms commands drained by 1, 2 and 3 hosts;
#  - beside them, graphile-worker 0.18 (npm; Node is on these machines)
#    draining QN no-op jobs at concurrency WORKERS, with its local queue
#    and batched completion on (localQueue.size = 500,
#    completeJobBatchDelay = 0) and off;
#  - how soon a killed host's jobs are back in work (lease QLEASE, 10 s).
# Each mpworker run is checked: every job done, the queue empty.

QNS=mqb$$

queue_net_up() {
	local k
	for k in 1 2 3; do
		ip netns add "$QNS$k" &&
		ip link add "${QNS}r$k" type veth peer name "${QNS}n$k" netns "$QNS$k" &&
		ip addr add "10.199.$k.1/24" dev "${QNS}r$k" && ip link set "${QNS}r$k" up &&
		ip -n "$QNS$k" addr add "10.199.$k.2/24" dev "${QNS}n$k" &&
		ip -n "$QNS$k" link set "${QNS}n$k" up && ip -n "$QNS$k" link set lo up || return 1
	done
}

queue_net_down() {
	local k
	for k in 1 2 3; do ip netns del "$QNS$k" 2>/dev/null; done
}

# queue_ini K TYPE BATCH [LINE...]: host K's config; LINEs go in [queue].
queue_ini() {
	local k=$1 type=$2 batch=$3
	shift 3
	printf '[pool]\nworkers = %s\n[jobs]\ntype = %s\nsource = queue\n' "$WORKERS" "$type"
	printf '[database]\ndriver = postgresql\nhost = 10.199.%s.1\nport = %s\nuser = mpw\npassword = mpwpass\ndbname = mpw\n' \
		"$k" "$MPW_PG_PORT"
	printf '[sql]\nbatch = %s\n[queue]\ntable = bq\nbatch = %s\n' "$batch" "$batch"
	for l in "$@"; do echo "$l"; done
}

# queue_hosts N TYPE BATCH: N hosts drain the queue; fails if one fails.
queue_hosts() {
	local n=$1 type=$2 batch=$3 k pids="" bad=0
	for k in $(seq 1 "$n"); do
		queue_ini "$k" "$type" "$batch" > "$W/q$k.ini"
		chmod 600 "$W/q$k.ini"
		ip netns exec "$QNS$k" "$MPWORKER" -q -c "$W/q$k.ini" &
		pids="$pids $!"
	done
	for k in $pids; do wait "$k" || bad=1; done
	return $bad
}

queue_fill() {	# queue_fill FILE: the jobs, enqueued
	pg -c "TRUNCATE bq, bq_dead" >/dev/null
	mpw -c "$W/q-admin.ini" --enqueue - < "$1" >/dev/null
}

queue_empty() {	# the run's check: every job done, nothing left or dead
	expect "jobs left in the queue, and dead" "$(pg -At -c "SELECT (SELECT count(*) FROM bq) + (SELECT count(*) FROM bq_dead)")" 0
}

queue_graphile() {	# queue_graphile MODE
	(cd "$W/gw" && node graphile.mjs "postgres://mpw:mpwpass@127.0.0.1:$MPW_PG_PORT/mpw" "$QN" "$WORKERS" "$1" \
		2>"$W/gw.err" | tail -1 | cut -f3)
}

w_queue() {
	local rep n b r k t0 t1 pid1 held
	QN=${QN:-100000}
	QCMDS=${QCMDS:-4000}
	QLEASE=${QLEASE:-10}
	if [ "$(id -u)" -ne 0 ] || ! queue_net_up; then
		say "  queue: needs root and network namespaces; not measured"
		queue_net_down
		return
	fi
	{ printf '[jobs]\ntype = sql\nsource = queue\n'; db_section postgresql; printf '[queue]\ntable = bq\n'; } > "$W/q-admin.ini"
	chmod 600 "$W/q-admin.ini"
	mpw -c "$W/q-admin.ini" --queue-init >/dev/null || { say "  queue: --queue-init FAILED"; queue_net_down; return; }
	yes 'SELECT 1' | head -n "$QN" > "$W/q-noop.sql"
	yes 'sleep 0.01' | head -n "$QCMDS" > "$W/q-cmd.txt"
	say "queue: installing graphile-worker 0.18 with npm"
	mkdir -p "$W/gw"
	cp "$BENCH/graphile.mjs" "$W/gw/"
	(cd "$W/gw" && npm install --no-audit --no-fund --loglevel=error graphile-worker@0.18.0 >"$W/npm.log" 2>&1) ||
		say "  npm install FAILED: graphile-worker is not measured"
	for rep in $(seq 1 "$REPS"); do
		say "queue, round $rep of $REPS: $QN no-op SQL jobs, $QCMDS 10 ms commands"
		for b in 128 16 1; do
			for n in 1 2 3; do
				queue_fill "$W/q-noop.sql"
				rate "queue-sql-b$b" "mpworker, $n host$( [ "$n" = 1 ] || echo s ) of $WORKERS workers, batch = $b" "$QN" \
					queue_hosts "$n" sql "$b" && queue_empty
			done
		done
		# graphile-worker runs its jobs in Node; the no-op job is the same: nothing.
		queue_fill "$W/q-noop.sql"
		rate queue-noop "mpworker -j$WORKERS, 1 host, batch = 128" "$QN" queue_hosts 1 sql 128 && queue_empty
		if [ -d "$W/gw/node_modules/graphile-worker" ]; then
			for mode in batched unbatched; do
				r=$(queue_graphile $mode)
				if [ -n "$r" ]; then
					record queue-noop "graphile-worker 0.18, concurrency $WORKERS, $mode" "$r" jobs/s
					say "  graphile-worker 0.18, $mode: ${r%.*} jobs/s"
				else
					say "  graphile-worker 0.18, $mode FAILED:"
					tail -n 5 "$W/gw.err" | sed 's/^/      /'
				fi
			done
		fi
		for n in 1 2 3; do
			queue_fill "$W/q-cmd.txt"
			rate queue-cmd "mpworker, $n host$( [ "$n" = 1 ] || echo s ) of $WORKERS workers, 10 ms commands" "$QCMDS" \
				queue_hosts "$n" command 16 && queue_empty
		done
		# The hosts share this machine's cores: what 3 x WORKERS workers of one
		# mpworker reach on the same commands from a file is the ceiling.
		rate queue-cmd "mpworker -j$((3 * WORKERS)) from a file, 10 ms commands (this machine's ceiling)" "$QCMDS" \
			mpw -o jobs.type=command -o "jobs.file=$W/q-cmd.txt" -j $((3 * WORKERS))
	done

	say "queue: kill -9 of one of 3 hosts running 10 ms commands, lease ${QLEASE}s"
	yes 'sleep 0.01' | head -n 50000 > "$W/q-long.txt"
	queue_fill "$W/q-long.txt"
	for k in 1 2 3; do
		queue_ini "$k" command 16 "lease = ${QLEASE}s" > "$W/q$k.ini"
		chmod 600 "$W/q$k.ini"
		setsid ip netns exec "$QNS$k" "$MPWORKER" -q -c "$W/q$k.ini" &
		eval "qpid$k=$!"
	done
	sleep 3
	pid1=$qpid1
	kill -9 -- "-$pid1"
	t0=$EPOCHREALTIME
	for _ in $(seq 1 $(( (QLEASE + 20) * 20 ))); do
		held=$(pg -At -c "SELECT count(*) FROM bq WHERE owner LIKE '%:$pid1:%'")
		[ "$held" = 0 ] && break
		sleep 0.05
	done
	t1=$EPOCHREALTIME
	kill -TERM "$qpid2" "$qpid3"
	wait "$qpid2" "$qpid3" 2>/dev/null
	if [ "$held" = 0 ]; then
		r=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
		record queue-rescue "mpworker, lease ${QLEASE}s: a killed host's jobs back in work after" "$r" ms
		say "  a killed host's jobs back in work after $r ms (lease ${QLEASE}s)"
	else
		say "  the killed host's jobs were not rescued in $((QLEASE + 20))s"
	fi
	pg -c "DROP TABLE bq, bq_dead" >/dev/null
	queue_net_down
}
