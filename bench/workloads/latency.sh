# Workload: the database across a network.  SELECTs by key (N of them),
# INSERTs in batches of 100, and renames of N files whose new names are
# looked up (a plain lookup by key, no server-side delay), on PostgreSQL
# reached over TCP, directly
# (0 ms) and through bench/delayproxy.py adding 1 and 5 ms each way (this
# kernel has no netem).  Beside mpworker: pgbench -c WORKERS (simple
# protocol, one statement per round trip), pgbench's own pipelined script
# (50 statements per \startpipeline), and the Python pool.  Every
# contender's result is checked.

# latency_via MS: point the clients (psql, pgbench, psycopg2, mpworker) at
# PostgreSQL over TCP, through a proxy adding MS each way (none for 0).
latency_via() {
	local ms=$1
	[ -n "${LATENCY_PROXY:-}" ] && kill "$LATENCY_PROXY" 2>/dev/null
	LATENCY_PROXY=
	MPW_PG_SOCKET=127.0.0.1
	MPW_PG_PORT=$LATENCY_PG_PORT
	if [ "$ms" != 0 ]; then
		"$PY" "$BENCH/delayproxy.py" 0 "127.0.0.1:$LATENCY_PG_PORT" "$ms" > "$W/proxy.out" 2>&1 &
		LATENCY_PROXY=$!
		for _ in $(seq 1 50); do grep -q '^ready' "$W/proxy.out" 2>/dev/null && break; sleep 0.1; done
		MPW_PG_PORT=$(awk '{ print $2 }' "$W/proxy.out")
	fi
	export MPW_PG_SOCKET MPW_PG_PORT PGPASSWORD=mpwpass
}

# pgbench's own pipelined script: 50 lookups per \startpipeline.
pgbench_pipelined() {
	printf '\\set k random(1, %d)\n\\startpipeline\n' "$1"
	for _ in $(seq 1 50); do echo "SELECT v FROM lookup WHERE k = :k;"; done
	printf '\\endpipeline\n'
}

# latency_rename SECTION LABEL FILES COMMAND...: rename FILES files, check, record.
latency_rename() {
	local section=$1 label=$2 files=$3
	shift 3
	rename_dir "$files"
	rate "$section" "$label" "$files" "$@" &&
	expect "files renamed" "$(find "$W/in" -name 'g*' | wc -l)" "$files"
}

w_latency() {
	local ms s sock=$MPW_PG_SOCKET port=$MPW_PG_PORT
	LATENCY_PG_PORT=$MPW_PG_PORT
	rename_setup
	# The rename workload's lookup, without its 2 ms at the server: here the
	# distance is the cost.
	pg -c "CREATE OR REPLACE FUNCTION lookup_name(text) RETURNS text LANGUAGE sql AS
		\$\$ SELECT new_name FROM renames WHERE old_name = \$1 \$\$" >/dev/null
	select_setup postgresql
	pg -c "DROP TABLE IF EXISTS bench" -c "CREATE TABLE bench (k int PRIMARY KEY, v text)" >/dev/null 2>&1
	statements select "$N" > "$W/lat-select.sql"
	statements insert "$N" > "$W/lat-insert.sql"
	pgbench_script select "$N" > "$W/lat-select.pgbench"
	pgbench_pipelined "$N" > "$W/lat-pipe.pgbench"
	for ms in ${LATENCIES:-0 1 5}; do
		latency_via "$ms"
		for rep in $(seq 1 "$REPS"); do
			say "latency ${ms} ms each way, round $rep of $REPS: $N lookups, $N inserts in batches of 100"
			s=latency-select-${ms}ms
			mpw_ini "$W/lat.ini" "$WORKERS" postgresql "$W/lat-select.sql"
			rate "$s" "mpworker -j$WORKERS (pipelined)" "$N" mpw -c "$W/lat.ini" &&
				expect "rows returned" "$(wc -l < "$W/out")" "$N"
			# One statement per round trip: across a delay, on a sample.
			local n=$N tag=""
			[ "$ms" != 0 ] && n=$SAMPLE tag=" (sample)"
			head -n "$n" "$W/lat-select.sql" > "$W/lat-select-some.sql"
			rate "$s" "pgbench -c$WORKERS$tag" "$n" pgbench_run "$WORKERS" $((n / WORKERS)) "$W/lat-select.pgbench"
			rate "$s" "pgbench -c$WORKERS, \\startpipeline of 50" "$N" \
				pgbench -n -h "$MPW_PG_SOCKET" -p "$MPW_PG_PORT" -U mpw -c "$WORKERS" -j "$WORKERS" \
				-t $((N / WORKERS / 50)) -M extended -f "$W/lat-pipe.pgbench" mpw
			rate "$s" "Python Pool($WORKERS, initializer=connect)$tag" "$n" \
				"$PY" "$BENCH/pool.py" postgresql "$WORKERS" "$W/lat-select-some.sql"
			s=latency-rename-${ms}ms
			rename_ini "$WORKERS"
			latency_rename "$s" "mpworker -j$WORKERS" "$N" mpw -c "$W/rename.ini"
			latency_rename "$s" "Python Pool($WORKERS, initializer=connect)$tag" "$n" \
				"$PY" "$BENCH/rename.py" pool "$WORKERS" "$W/in"
			s=latency-batch-${ms}ms
			pg -c "TRUNCATE bench" >/dev/null
			mpw_ini "$W/lat.ini" "$WORKERS" postgresql "$W/lat-insert.sql" "batch = 100"
			rate "$s" "mpworker -j$WORKERS, batch = 100" "$N" mpw -c "$W/lat.ini" &&
				expect "rows inserted" "$(pg -At -c 'SELECT count(*) FROM bench')" "$N"
		done
	done
	latency_via 0
	MPW_PG_SOCKET=$sock MPW_PG_PORT=$port
	rename_setup	# the rename workload's lookup again, 2 ms and all
	[ -n "${LATENCY_PROXY:-}" ] && kill "$LATENCY_PROXY" 2>/dev/null
	true
}
