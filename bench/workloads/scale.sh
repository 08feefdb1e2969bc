# Workload 6: the parent's scale.  1,000,000 jobs from a file: SQL on
# SQLite to the end, and commands for the first SCALE_SECONDS (15; a
# million commands take minutes with any tool).  Peak resident memory
# (VmHWM, polled by bench/peak.py) of the parent and of its largest child,
# beside xargs and GNU parallel on the same million-line file; then
# /usr/bin/time -v's figure for mpworker's whole SQL run.

scale_one() {	# scale_one LABEL SECONDS COMMAND... (stdin: the jobs, for xargs and parallel)
	local label=$1 limit=$2 r
	shift 2
	r=$("$PY" "$BENCH/peak.py" "$limit" "$@") || { say "  $label FAILED"; return 1; }
	set -- $r
	# A run to the end must have succeeded: a tool that stopped early used little memory.
	if [ "$limit" = 0 ] && [ "$4" != 0 ]; then
		say "  $label FAILED: exit status $4; not recorded"
		return 1
	fi
	record scale-parent "$label" "$1" kB
	record scale-child "$label" "$2" kB
	say "  $label: parent $1 kB, largest child $2 kB, ${3}s"
}

w_scale() {
	local secs=${SCALE_SECONDS:-15} big=1000000 r
	yes 'SELECT 1;' | head -n $big > "$W/scale.sql"
	yes true | head -n $big > "$W/scale.txt"
	mpw_ini "$W/scale.ini" "$WORKERS" sqlite "$W/scale.sql"
	printf '[pool]\nworkers = %s\n[jobs]\ntype = command\nfile = %s/scale.txt\n' "$WORKERS" "$W" > "$W/scale-cmd.ini"
	say "scale: mpworker, $big SQL jobs on SQLite, to the end"
	scale_one "mpworker, 1,000,000 SQL jobs (SQLite)" 0 "$MPWORKER" -q -c "$W/scale.ini"
	say "scale: $big commands, the first $secs s of each tool"
	scale_one "mpworker, 1,000,000 commands" "$secs" "$MPWORKER" -q -c "$W/scale-cmd.ini"
	scale_one "xargs -P$WORKERS, 1,000,000 commands" "$secs" xargs -P"$WORKERS" -d '\n' -I{} sh -c {} < "$W/scale.txt"
	scale_one "GNU parallel -j$WORKERS, 1,000,000 commands" "$secs" parallel -j"$WORKERS" < "$W/scale.txt"
	/usr/bin/time -v "$MPWORKER" -q -c "$W/scale.ini" >/dev/null 2>"$W/time.txt"
	r=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$W/time.txt")
	record scale-tree "mpworker, 1,000,000 SQL jobs (SQLite), whole tree" "$r" kB
	say "  /usr/bin/time -v, mpworker's 1,000,000 SQL jobs: maximum resident set size $r kB"
}
