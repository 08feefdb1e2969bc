# A bad config exits 2, names file, line and key, and runs nothing.
. "$SRCDIR/tests/lib.sh"

bad() {	# bad LINE PATTERN: the config in c.ini is refused, blaming LINE
	run_mpw -c c.ini
	expect_eq "exit 2 for: $2" "$rc" 2
	expect_grep "names c.ini line $1" "c.ini:$1: " err
	expect_grep "says: $2" "$2" err
	check "nothing ran ($2)" test ! -e ran
}

printf '[pool]\nworkers = 4\n[jobs]\njob = touch ran\n[pool]\nretries = many\n' > c.ini
bad 6 "\[pool\] retries: 'many' is not a whole number"

printf '[jobs]\njob = touch ran\n[command]\ntemplte = x {}\n' > c.ini
bad 4 "\[command\] templte: unknown key \(did you mean 'template'\?\)"

printf '[jobs]\njob = touch ran\n\n[workers]\ncount = 3\n' > c.ini
bad 4 "\[workers\]: unknown section"

printf '[jobs]\njob = touch ran\n[pool]\njob_timeout = soon\n' > c.ini
bad 4 "job_timeout: 'soon' is not a duration"

printf '[jobs]\njob = touch ran\ntype = sqlite\n' > c.ini
bad 3 "\[jobs\] type: 'sqlite' is not one of"

printf '[jobs]\njob = touch ran\nthis line is wrong\n' > c.ini
bad 3 "syntax error"

printf '[jobs]\nfile = missing-jobs.txt\n' > c.ini
run_mpw -c c.ini
expect_eq "a missing jobs file exits 2" "$rc" 2
expect_grep "it names the jobs file" "missing-jobs.txt: No such file" err

finish
