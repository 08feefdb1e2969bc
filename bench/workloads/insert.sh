# Workload 1: SQL INSERT, autocommit, N statements (default 20,000), each
# contender on WORKERS connections, alternating over REPS rounds.  GNU
# parallel starts a client per statement, so it runs a SAMPLE (1,000).
# The table is emptied before each run and its row count checked after.

insert_reset() {
	case $1 in
	postgresql) sqlc "$1" "DROP TABLE IF EXISTS bench; CREATE TABLE bench (id bigserial PRIMARY KEY, k int, v text)" ;;
	mysql) sqlc "$1" "DROP TABLE IF EXISTS bench; CREATE TABLE bench (id bigint AUTO_INCREMENT PRIMARY KEY, k int, v text) ENGINE=InnoDB" ;;
	esac >/dev/null
}

insert_check() {	# insert_check DRIVER ROWS
	expect "rows inserted" "$(sqlc "$1" "SELECT count(*) FROM bench")" "$2"
}

w_insert() {
	local d s c
	statements insert "$N" > "$W/insert.sql"
	head -n "$SAMPLE" "$W/insert.sql" > "$W/insert-sample.sql"
	pgbench_script insert "$N" > "$W/insert.pgbench"
	for d in $(drivers); do
		s=insert-$d
		mpw_ini "$W/insert.ini" "$WORKERS" "$d" "$W/insert.sql"
		for rep in $(seq 1 "$REPS"); do
			say "insert ($d), round $rep of $REPS: $N statements, $WORKERS connections"
			for c in mpworker clients serial python; do
				insert_reset "$d"
				case $d:$c in
				*:mpworker) rate "$s" "mpworker -j$WORKERS" "$N" mpw -c "$W/insert.ini" ;;
				postgresql:clients) rate "$s" "pgbench -c$WORKERS" "$N" \
					pgbench_run "$WORKERS" $((N / WORKERS)) "$W/insert.pgbench" ;;
				mysql:clients) rate "$s" "mariadb-slap --concurrency=$WORKERS" "$N" \
					slap "INSERT INTO bench (k, v) VALUES (1, 'payload-x')" "$N" ;;
				*:serial) rate "$s" "$(client_name "$d") < file (1 connection)" "$N" serial_client "$d" "$W/insert.sql" ;;
				*:python) rate "$s" "Python Pool($WORKERS, initializer=connect)" "$N" \
					"$PY" "$BENCH/pool.py" "$d" "$WORKERS" "$W/insert.sql" ;;
				esac && insert_check "$d" "$N"
			done
		done
		insert_reset "$d"
		say "insert ($d): GNU parallel, one $(client_name "$d") per statement, on a $SAMPLE-statement sample"
		rate "$s" "GNU parallel -j$WORKERS $(client_name "$d") (sample)" "$SAMPLE" \
			per_statement_client "$d" < "$W/insert-sample.sql" && insert_check "$d" "$SAMPLE"
	done
}
