# Workload: parameterized statements on PostgreSQL, N of them on WORKERS
# connections.  mpworker runs [sql] statement (prepared once per
# connection, each job line its values, pipelined) beside pgbench running
# the same statement with a random key, once with the simple protocol
# (values pasted into SQL text, parsed and planned each time) and once
# with -M prepared.  SELECTs by key, then INSERTs in autocommit; rows
# returned and rows inserted are checked.

w_params() {
	local s rep
	select_setup postgresql
	seq 1 "$N" > "$W/params-select.tsv"
	seq 1 "$N" | awk '{ printf "%d\tpayload-%d\n", $1, $1 }' > "$W/params-insert.tsv"
	pgbench_script select "$N" > "$W/params-select.pgbench"
	pgbench_script insert "$N" > "$W/params-insert.pgbench"
	for rep in $(seq 1 "$REPS"); do
		say "params, round $rep of $REPS: $N SELECTs, then $N INSERTs, $WORKERS connections"
		s=params-select
		mpw_ini "$W/params.ini" "$WORKERS" postgresql "$W/params-select.tsv" \
			'statement = SELECT v FROM lookup WHERE k = $1'
		rate "$s" "mpworker -j$WORKERS, statement" "$N" mpw -c "$W/params.ini" &&
			expect "rows returned" "$(wc -l < "$W/out")" "$N"
		rate "$s" "pgbench -c$WORKERS -M simple" "$N" pgbench_run "$WORKERS" $((N / WORKERS)) "$W/params-select.pgbench"
		rate "$s" "pgbench -c$WORKERS -M prepared" "$N" \
			pgbench_run "$WORKERS" $((N / WORKERS)) "$W/params-select.pgbench" -M prepared
		s=params-insert
		mpw_ini "$W/params.ini" "$WORKERS" postgresql "$W/params-insert.tsv" \
			'statement = INSERT INTO bench (k, v) VALUES ($1, $2)'
		insert_reset postgresql
		rate "$s" "mpworker -j$WORKERS, statement" "$N" mpw -c "$W/params.ini" && insert_check postgresql "$N"
		insert_reset postgresql
		rate "$s" "pgbench -c$WORKERS -M prepared" "$N" \
			pgbench_run "$WORKERS" $((N / WORKERS)) "$W/params-insert.pgbench" -M prepared &&
			insert_check postgresql "$N"
		insert_reset postgresql
		rate "$s" "pgbench -c$WORKERS -M simple" "$N" pgbench_run "$WORKERS" $((N / WORKERS)) "$W/params-insert.pgbench" &&
			insert_check postgresql "$N"
	done
}
