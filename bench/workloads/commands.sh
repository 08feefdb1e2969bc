# Workload 5: command jobs, CMDS (10,000) runs of `true`, each through
# /bin/sh -c as every contender runs them, WORKERS at a time.  GNU parallel
# is slow to start each job, so it runs a CMD_SAMPLE (2,000).

w_commands() {
	local cs=${CMD_SAMPLE:-2000}
	yes true | head -n "$CMDS" > "$W/true.txt"
	head -n "$cs" "$W/true.txt" > "$W/true-sample.txt"
	printf '[pool]\nworkers = %s\njoblog = %s/cmd.joblog\n[jobs]\ntype = command\nfile = %s/true.txt\n' \
		"$WORKERS" "$W" "$W" > "$W/cmd.ini"
	for rep in $(seq 1 "$REPS"); do
		say "commands, round $rep of $REPS: $CMDS runs of true, $WORKERS at a time"
		rm -f "$W/cmd.joblog"
		rate commands "mpworker -j$WORKERS" "$CMDS" mpw -c "$W/cmd.ini" &&
		expect "jobs in the joblog" "$(awk -F'\t' 'NR > 1 && $7 == 0' "$W/cmd.joblog" | wc -l)" "$CMDS"
		rate commands "xargs -P$WORKERS sh -c" "$CMDS" xargs -P"$WORKERS" -d '\n' -I{} sh -c {} < "$W/true.txt"
		rate commands "GNU parallel -j$WORKERS (sample)" "$cs" parallel -j"$WORKERS" < "$W/true-sample.txt"
	done
}
