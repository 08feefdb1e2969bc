# Workload 3: SQL INSERT with 100 statements per transaction: mpworker's
# [sql] batch = 100, beside the same batching done by hand in each other
# tool (pgbench with a 100-INSERT transaction script, a file of BEGIN ...
# COMMIT blocks through the client, a Python pool committing every 100).

w_batch() {
	local d s c
	statements insert "$N" > "$W/batch.sql"
	awk '(NR - 1) % 100 == 0 { print "BEGIN;" } { print } NR % 100 == 0 { print "COMMIT;" }' "$W/batch.sql" > "$W/batch-tx.sql"
	pgbench_script insert "$N" 100 > "$W/batch.pgbench"
	for d in $(drivers); do
		s=batch-$d
		mpw_ini "$W/batch.ini" "$WORKERS" "$d" "$W/batch.sql" "batch = 100"
		for rep in $(seq 1 "$REPS"); do
			say "batch ($d), round $rep of $REPS: $N statements, 100 per transaction, $WORKERS connections"
			for c in mpworker clients serial python; do
				insert_reset "$d"
				case $d:$c in
				*:mpworker) rate "$s" "mpworker -j$WORKERS, batch = 100" "$N" mpw -c "$W/batch.ini" ;;
				postgresql:clients) rate "$s" "pgbench -c$WORKERS, 100 per transaction" "$N" \
					pgbench_run "$WORKERS" $((N / WORKERS / 100)) "$W/batch.pgbench" ;;
				mysql:clients) continue ;;
				*:serial) rate "$s" "$(client_name "$d") < file, 100 per transaction" "$N" serial_client "$d" "$W/batch-tx.sql" ;;
				*:python) rate "$s" "Python Pool($WORKERS), commit every 100" "$N" \
					"$PY" "$BENCH/pool.py" "$d" "$WORKERS" "$W/batch.sql" 100 ;;
				esac && insert_check "$d" "$N"
			done
		done
	done
}
