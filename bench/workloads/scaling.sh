# Throughput against the number of workers (1, 2, 4, 8, 16, 32), for the
# chart: SELECT lookups and autocommit INSERTs on PostgreSQL (mpworker,
# pgbench, the Python pool) and command jobs (mpworker, xargs).
# SCALING_REPS (3) rounds over all points, on SCALING_N statements (10,000)
# and SCALING_CMDS commands (3,000).  Every run goes to $OUT/scaling-runs.tsv,
# the median of each point to $OUT/scaling.tsv, as SERIES <tab> WORKERS <tab> JOBS/S.

scaling_point() {	# scaling_point SERIES WORKERS JOBS COMMAND...
	local series=$1 n=$2 r
	shift 2
	if ! r=$(measure "$@"); then
		say "  $series at $n FAILED"
		tail -n 3 "$W/err"
		return 0
	fi
	printf '%s\t%s\t%s\n' "$series" "$n" "$r" >> "$OUT/scaling-runs.tsv"
	printf '  %-36s %2d workers: %8.0f jobs/s\n' "$series" "$n" "$r"
}

w_scaling() {
	local sn=${SCALING_N:-10000} sc=${SCALING_CMDS:-3000} reps=${SCALING_REPS:-3} n
	select_setup postgresql
	statements select "$sn" > "$W/sc-select.sql"
	statements insert "$sn" > "$W/sc-insert.sql"
	pgbench_script select "$sn" > "$W/sc-select.pgbench"
	pgbench_script insert "$sn" > "$W/sc-insert.pgbench"
	yes true | head -n "$sc" > "$W/sc-true.txt"
	: > "$OUT/scaling-runs.tsv"
	for rep in $(seq 1 "$reps"); do
		for n in 1 2 4 8 16 32; do
			say "scaling, round $rep of $reps: $n workers"
			mpw_ini "$W/sc.ini" "$n" postgresql "$W/sc-select.sql"
			scaling_point select:mpworker "$n" "$sn" mpw -c "$W/sc.ini"
			scaling_point select:pgbench "$n" $((sn / n * n)) pgbench_run "$n" $((sn / n)) "$W/sc-select.pgbench"
			scaling_point select:python "$n" "$sn" "$PY" "$BENCH/pool.py" postgresql "$n" "$W/sc-select.sql"
			mpw_ini "$W/sc.ini" "$n" postgresql "$W/sc-insert.sql"
			insert_reset postgresql
			scaling_point insert:mpworker "$n" "$sn" mpw -c "$W/sc.ini"
			scaling_point insert:pgbench "$n" $((sn / n * n)) pgbench_run "$n" $((sn / n)) "$W/sc-insert.pgbench"
			scaling_point insert:python "$n" "$sn" "$PY" "$BENCH/pool.py" postgresql "$n" "$W/sc-insert.sql"
			printf '[pool]\nworkers = %s\n[jobs]\ntype = command\nfile = %s/sc-true.txt\n' "$n" "$W" > "$W/sc-cmd.ini"
			scaling_point commands:mpworker "$n" "$sc" mpw -c "$W/sc-cmd.ini"
			scaling_point commands:xargs "$n" "$sc" xargs -P"$n" -d '\n' -I{} sh -c {} < "$W/sc-true.txt"
		done
	done
	# Medians, grouped by series so that gnuplot draws each as one line.
	gawk -F'\t' -f "$BENCH/median.awk" -e '
		{ k = $1 "\t" $2; if (!(k in v)) order[++n] = k; v[k] = v[k] " " $3 }
		END { for (i = 1; i <= n; i++) printf "%s\t%s\n", order[i], median(v[order[i]]) }' \
		"$OUT/scaling-runs.tsv" | sort -t "$(printf '\t')" -s -k1,1 > "$OUT/scaling.tsv"
}
