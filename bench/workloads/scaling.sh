# Throughput against the number of workers (1, 2, 4, 8, 16, 32), for the
# chart: SELECT lookups and autocommit INSERTs on PostgreSQL (mpworker,
# pgbench, the Python pool) and command jobs (mpworker, xargs).  One run
# SCALING_REPS (3) rounds over all points, on SCALING_N statements (10,000)
# and SCALING_CMDS commands (3,000).  Every run goes to $OUT/scaling-runs.tsv,
# the median of each point to $OUT/scaling.tsv, as SERIES <tab> WORKERS <tab> JOBS/S.

scaling_point() {	# scaling_point SERIES WORKERS JOBS COMMAND...
	local series=$1 n=$2 jobs=$3 t0 t1 r
	shift 3
	t0=$EPOCHREALTIME
	"$@" >/dev/null 2>"$W/err" || { say "  $series at $n FAILED"; tail -n 3 "$W/err"; return 0; }
	t1=$EPOCHREALTIME
	r=$(awk -v j="$jobs" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", j / (b - a) }')
	printf '%s\t%s\t%s\n' "$series" "$n" "$r" >> "$OUT/scaling-runs.tsv"
	printf '  %-36s %2d workers: %8.0f jobs/s\n' "$series" "$n" "$r"
}

w_scaling() {
	local sn=${SCALING_N:-10000} sc=${SCALING_CMDS:-3000} n pgb
	DRIVERS=postgresql select_setup postgresql
	seq 1 "$sn" | awk '{ printf "SELECT v FROM lookup WHERE k = %d;\n", $1 }' > "$W/sc-select.sql"
	seq 1 "$sn" | awk '{ printf "INSERT INTO bench (k, v) VALUES (%d, '\''payload-%d'\'');\n", $1, $1 }' > "$W/sc-insert.sql"
	printf '\\set k random(1, %d)\nSELECT v FROM lookup WHERE k = :k;\n' "$sn" > "$W/sc-select.pgbench"
	printf '\\set k random(1, %d)\nINSERT INTO bench (k, v) VALUES (:k, '\''payload-x'\'');\n' "$sn" > "$W/sc-insert.pgbench"
	yes true | head -n "$sc" > "$W/sc-true.txt"
	: > "$OUT/scaling-runs.tsv"
	for rep in $(seq 1 "${SCALING_REPS:-3}"); do
		for n in 1 2 4 8 16 32; do
			say "scaling, round $rep of ${SCALING_REPS:-3}: $n workers"
			pgb="pgbench -n -h $MPW_PG_SOCKET -p $MPW_PG_PORT -U mpw -c $n -j $n -t $((sn / n)) -M simple"
			mpw_ini "$W/sc.ini" "$n" postgresql "$W/sc-select.sql"
			scaling_point select:mpworker "$n" "$sn" mpw -c "$W/sc.ini"
			scaling_point select:pgbench "$n" $((sn / n * n)) $pgb -f "$W/sc-select.pgbench" mpw
			scaling_point select:python "$n" "$sn" "$PY" "$BENCH/pool.py" postgresql "$n" "$W/sc-select.sql"
			mpw_ini "$W/sc.ini" "$n" postgresql "$W/sc-insert.sql"
			insert_reset postgresql
			scaling_point insert:mpworker "$n" "$sn" mpw -c "$W/sc.ini"
			scaling_point insert:pgbench "$n" $((sn / n * n)) $pgb -f "$W/sc-insert.pgbench" mpw
			scaling_point insert:python "$n" "$sn" "$PY" "$BENCH/pool.py" postgresql "$n" "$W/sc-insert.sql"
			printf '[pool]\nworkers = %s\n[jobs]\ntype = command\nfile = %s/sc-true.txt\n' "$n" "$W" > "$W/sc-cmd.ini"
			scaling_point commands:mpworker "$n" "$sc" mpw -c "$W/sc-cmd.ini"
			scaling_point commands:xargs "$n" "$sc" sh -c "xargs -P$n -d '\n' -I{} sh -c {} < '$W/sc-true.txt'"
		done
	done
	# Medians, grouped by series so that gnuplot draws each as one line.
	gawk -F'\t' '
		{ k = $1 "\t" $2; if (!(k in v)) order[++n] = k; v[k] = v[k] " " $3 }
		END {
			for (i = 1; i <= n; i++) {
				m = split(substr(v[order[i]], 2), a, " "); asort(a)
				printf "%s\t%s\n", order[i], (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
			}
		}' "$OUT/scaling-runs.tsv" | sort -t "$(printf '\t')" -s -k1,1 > "$OUT/scaling.tsv"
}
