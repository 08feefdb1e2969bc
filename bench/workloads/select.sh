# Workload 2: SQL SELECT lookups by primary key, N (20,000) of them, on
# WORKERS connections.  mpworker runs twice on PostgreSQL: one statement
# per round trip (pipeline = no), and pipelined (the default).  Every
# contender's lookups return rows; mpworker's output is counted.

select_setup() {
	case $1 in
	postgresql) pg -c "DROP TABLE IF EXISTS lookup" -c "CREATE TABLE lookup (k int PRIMARY KEY, v text)" \
		-c "INSERT INTO lookup SELECT g, 'value-' || g FROM generate_series(1, $N) g" -c "VACUUM ANALYZE lookup" 2>&1 | grep -v NOTICE ;;
	mysql) sqlc "$1" "DROP TABLE IF EXISTS lookup; CREATE TABLE lookup (k int PRIMARY KEY, v text) ENGINE=InnoDB;
		INSERT INTO lookup SELECT seq, concat('value-', seq) FROM seq_1_to_$N" ;;
	esac >/dev/null
}

w_select() {
	local d s c
	statements select "$N" > "$W/select.sql"
	head -n "$SAMPLE" "$W/select.sql" > "$W/select-sample.sql"
	pgbench_script select "$N" > "$W/select.pgbench"
	for d in $(drivers); do
		s=select-$d
		select_setup "$d"
		for rep in $(seq 1 "$REPS"); do
			say "select ($d), round $rep of $REPS: $N lookups, $WORKERS connections"
			for c in mpworker_pipe mpworker clients serial python; do
				case $d:$c in
				postgresql:mpworker) mpw_ini "$W/select.ini" "$WORKERS" "$d" "$W/select.sql" "pipeline = no"
					rate "$s" "mpworker -j$WORKERS, pipeline = no" "$N" mpw -c "$W/select.ini" &&
					expect "rows returned" "$(wc -l < "$W/out")" "$N" ;;
				postgresql:mpworker_pipe) mpw_ini "$W/select.ini" "$WORKERS" "$d" "$W/select.sql" "pipeline = yes"
					rate "$s" "mpworker -j$WORKERS, pipelined (default)" "$N" mpw -c "$W/select.ini" &&
					expect "rows returned" "$(wc -l < "$W/out")" "$N" ;;
				mysql:mpworker) mpw_ini "$W/select.ini" "$WORKERS" "$d" "$W/select.sql"
					rate "$s" "mpworker -j$WORKERS" "$N" mpw -c "$W/select.ini" &&
					expect "rows returned" "$(wc -l < "$W/out")" "$N" ;;
				mysql:mpworker_pipe) ;;
				postgresql:clients) rate "$s" "pgbench -c$WORKERS" "$N" \
					pgbench_run "$WORKERS" $((N / WORKERS)) "$W/select.pgbench" ;;
				mysql:clients) rate "$s" "mariadb-slap --concurrency=$WORKERS" "$N" \
					slap "SELECT v FROM lookup WHERE k = 4242" "$N" ;;
				*:serial) rate "$s" "$(client_name "$d") < file (1 connection)" "$N" serial_client "$d" "$W/select.sql" ;;
				*:python) rate "$s" "Python Pool($WORKERS, initializer=connect)" "$N" \
					"$PY" "$BENCH/pool.py" "$d" "$WORKERS" "$W/select.sql" ;;
				esac
			done
		done
		say "select ($d): GNU parallel, one $(client_name "$d") per statement, on a $SAMPLE-statement sample"
		rate "$s" "GNU parallel -j$WORKERS $(client_name "$d") (sample)" "$SAMPLE" \
			per_statement_client "$d" < "$W/select-sample.sql"
	done
}
