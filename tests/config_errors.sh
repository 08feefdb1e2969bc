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

# What inih would silently cut: a NUL byte, and a line past its 1 MiB buffer,
# whose tail it would read as a line of its own.
printf '[jobs]\njob = touch ran\njob = echo one\000; touch ran\n' > c.ini
bad 3 "the line holds a NUL byte"
{ printf '[jobs]\njob = echo '; head -c 1048576 /dev/zero | tr '\0' x; printf 'job = touch ran\n'; } > c.ini
bad 2 "the line is longer than 1048576 bytes"
{ printf '[jobs]\njob = true '; head -c 1048565 /dev/zero | tr '\0' x; printf '\n'; } > c.ini
run_mpw -c c.ini
expect_eq "a line of exactly 1 MiB is read whole" "$rc" 1
expect_grep "(and its job is too long to run)" "job 1 failed: the job line is longer than" err

# " ;" starts an inih comment: in a key that holds code it would cut the
# command short without a word, so it is refused; elsewhere it is a comment.
printf '[pool]\nworkers = 1   ; one at a time\n[jobs]\njob = echo one ; touch ran\n' > c.ini
bad 4 "\[jobs\] job: a ';' after a space or tab starts a comment in an INI file"
printf '[jobs]\njob = touch ran\n[command]\ntemplate = echo {}\t; echo two\n' > c.ini
bad 4 "\[command\] template: a ';' after a space or tab"
printf '[pool]\nworkers = 1   ; one at a time\n[jobs]\njob = echo one; echo two\n' > c.ini
run_mpw -c c.ini
expect_eq "';' right after the code is the shell's" "$(cat out)" "$(printf 'one\ntwo')"

printf '[jobs]\njob = touch ran\nsplit = statement\n' > c.ini
bad 3 "\[jobs\] split: statement splits SQL scripts: it needs type = sql"

printf '[jobs]\nfile = missing-jobs.txt\n' > c.ini
run_mpw -c c.ini
expect_eq "a missing jobs file exits 2" "$rc" 2
expect_grep "it names the jobs file, at its line" "c.ini:2: \[jobs\] file: .*missing-jobs.txt: No such file" err

# A key in the wrong section says where it belongs.
printf '[pool]\nfile = jobs.txt\n[jobs]\njob = touch ran\n' > c.ini
bad 2 "\[pool\] file: unknown key here: file belongs in \[jobs\]"
# What a missing section lacks is the file's fault, not its first line's.
printf '[pool]\nworkers = 2\n' > c.ini
run_mpw -c c.ini
expect_eq "no [jobs] section exits 2" "$rc" 2
expect_grep "blaming the file, not line 1" "^c.ini: \[jobs\]: no jobs: give file = or job =" err

finish
