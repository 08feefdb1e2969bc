# Workload 7: start-up and replacement, with PostgreSQL connections.  The
# time from launch until all N workers (8, 32) have connected and passed
# their init hook, and the time from a worker's SIGKILL to its replacement
# being connected and ready for jobs (4 kills per round, 8 workers).

w_startup() {
	local n r
	mkfifo "$W/startup.fifo" 2>/dev/null || true
	for rep in $(seq 1 "$REPS"); do
		for n in 8 32; do
			say "startup, round $rep of $REPS: $n workers"
			{ printf '[pool]\nworkers = %s\n[jobs]\ntype = sql\nfile = %s/startup.fifo\n' "$n" "$W"
			  db_section postgresql
			  printf 'init = SET application_name = %s\n' "'mpworker-bench'"; } > "$W/startup.ini"
			"$PY" "$BENCH/startup.py" "$MPWORKER" "$W/startup.ini" $((n == 8 ? 4 : 0)) > "$W/startup.out" 2>"$W/err" ||
				{ say "  startup FAILED"; tail -n 5 "$W/err"; continue; }
			while read -r what r; do
				case $what in
				ready) record startup "mpworker: all $n workers connected and ready" "$r" ms; say "  $n workers ready in $r ms" ;;
				replaced) record startup "mpworker: a killed worker replaced and ready" "$r" ms; say "  a killed worker replaced in $r ms" ;;
				esac
			done < "$W/startup.out"
		done
	done
}
