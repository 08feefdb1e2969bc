# Workload 4: rename N (20,000) files whose new names are in PostgreSQL,
# behind a lookup that costs about 2 ms at the server (pg_sleep), standing
# in for a database across a network.  The serial script and GNU parallel
# (a psql per file) are slow, so they run on samples (SERIAL_SAMPLE, 2,000;
# SAMPLE, 1,000).  Each run starts from a fresh directory and the number of
# files under their new names is checked.

rename_setup() {
	seq 1 "$N" | awk '{ e = ($1 % 3 == 0) ? "csv" : "dat"; printf "f%d.%s\tg%d.%s\n", $1, e, $1, e }' > "$W/map.tsv"
	pg -c "DROP TABLE IF EXISTS renames" -c "CREATE TABLE renames (old_name text PRIMARY KEY, new_name text)" \
		-c "\\copy renames FROM '$W/map.tsv'" >/dev/null
	pg -c "CREATE OR REPLACE FUNCTION lookup_name(text) RETURNS text LANGUAGE sql AS
		\$\$ SELECT pg_sleep(0.002); SELECT new_name FROM renames WHERE old_name = \$1 \$\$" >/dev/null
	cat > "$W/per-file.sh" <<'SH'
#!/bin/sh
# What a user hands GNU parallel: look one file's new name up, rename it.
name=$(basename "$1")
new=$(psql -X -At -h "$MPW_PG_SOCKET" -p "$MPW_PG_PORT" -U mpw -d mpw -c "SELECT lookup_name('$name')")
[ -n "$new" ] && mv -n "$1" "$(dirname "$1")/$new"
SH
	chmod +x "$W/per-file.sh"
}

rename_dir() {	# rename_dir COUNT: a fresh $W/in with COUNT files to rename and 199 .txt files to leave
	rm -rf "$W/in"
	mkdir "$W/in"
	(cd "$W/in" && seq 1 "$1" | awk '{ print "f" $1 "." (($1 % 3 == 0) ? "csv" : "dat") }' | xargs touch &&
	 seq 1 199 | sed 's/^/t/; s/$/.txt/' | xargs touch)
}

rename_ini() {	# rename_ini WORKERS
	{ printf '[pool]\nworkers = %s\n[jobs]\ntype = rename\n[rename]\ndirectory = %s/in\nextensions = .dat .csv\nlookup = SELECT lookup_name($1)\n' "$1" "$W"
	  db_section postgresql; } > "$W/rename.ini"
}

rename_run() {	# rename_run LABEL FILES COMMAND...
	local label=$1 files=$2
	shift 2
	rename_dir "$files"
	rate rename "$label" "$files" "$@" &&
	expect "files renamed" "$(find "$W/in" -name 'g*' | wc -l)" "$files"
}

w_rename() {
	local ss=${SERIAL_SAMPLE:-2000}
	rename_setup
	for rep in $(seq 1 "$REPS"); do
		say "rename, round $rep of $REPS: $N files, a 2 ms lookup each"
		rename_ini "$WORKERS"
		rename_run "mpworker -j$WORKERS" "$N" mpw -c "$W/rename.ini"
		rename_run "Python Pool($WORKERS, initializer=connect)" "$N" "$PY" "$BENCH/rename.py" pool "$WORKERS" "$W/in"
		rename_run "serial Python script (sample)" "$ss" "$PY" "$BENCH/rename.py" serial "$W/in"
		rename_ini 16
		rename_run "mpworker -j16" "$N" mpw -c "$W/rename.ini"
	done
	say "rename: GNU parallel -j$WORKERS with a psql per file, on a $SAMPLE-file sample"
	rename_run "GNU parallel -j$WORKERS per-file script (sample)" "$SAMPLE" \
		sh -c "cd '$W' && find in -name 'f*' | parallel -j$WORKERS ./per-file.sh {}"
}
