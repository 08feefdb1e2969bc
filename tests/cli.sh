# The command line: help, version, usage errors, --check-config.
. "$SRCDIR/tests/lib.sh"

"$MPWORKER" --help >out 2>err; rc=$?
expect_eq "--help exits 0" "$rc" 0
expect_grep "--help lists --resume-failed" "--resume-failed" out

"$MPWORKER" --version >out; rc=$?
expect_eq "--version exits 0" "$rc" 0
expect_grep "--version prints the version" "^mpworker [0-9]+\.[0-9]+" out

run_mpw
expect_eq "no config is a usage error" "$rc" 2
expect_grep "it says what is missing" "give -c FILE" err

run_mpw --config nonexistent.ini
expect_eq "a missing config file exits 2" "$rc" 2
expect_grep "it names the file" "nonexistent.ini: No such file" err

run_mpw -c x.ini --frobnicate
expect_eq "an unknown option exits 2" "$rc" 2
expect_eq "said once, naming it" "$(cat err)" "$(printf "mpworker: unknown option '--frobnicate'\nTry 'mpworker --help'.")"
run_mpw --config
expect_eq "an option without its value: said once" "$(head -1 err) $(wc -l < err)" "mpworker: option '--config' needs a value 2"

cat > c.ini <<'INI'
[pool]
workers = 3
retries = 2
[jobs]
job = touch ran
INI
run_mpw -c c.ini --check-config -j 5 --joblog my.joblog
expect_eq "--check-config exits 0" "$rc" 0
expect_grep "it prints the -j override" "^workers = 5.*command line" out
expect_grep "it prints file values" "^retries = 2$" out
expect_grep "it prints defaults as such" "^shell = /bin/sh.*default" out
expect_grep "it prints the --joblog override" "^joblog = my.joblog" out
check "--check-config runs nothing" test ! -e ran
check "--check-config writes no joblog" test ! -e my.joblog
check "it names each section once" test -z "$(grep '^\[' out | sort | uniq -d)"
# The printout is itself a valid config.
sed 's/\t;.*//' out > printed.ini
run_mpw -c printed.ini --check-config
expect_eq "the printout loads back" "$rc" 0

run_mpw -c c.ini -j 0
expect_eq "-j 0 is a usage error" "$rc" 2
run_mpw -c c.ini --resume --resume-failed
expect_eq "--resume with --resume-failed is a usage error" "$rc" 2
run_mpw -c c.ini --resume
expect_eq "--resume without a joblog is an error" "$rc" 2
expect_grep "it says a joblog is needed" "\-\-resume needs a joblog" err
run_mpw -c c.ini --resume-failed
expect_grep "naming the option given" "\-\-resume-failed needs a joblog" err
check "and nothing ran" test ! -e ran

# A password in a config others can read draws a warning (never the password itself).
printf '[jobs]\njob = true\n[database]\npassword = s3cret-value\n' > pw.ini
chmod 644 pw.ini
run_mpw -c pw.ini --check-config
expect_grep "a world-readable password is warned about" "pw.ini holds a database password and is readable by others" err
expect_no_grep "the warning does not show it" "s3cret-value" err
chmod 600 pw.ini
run_mpw -c pw.ini --check-config
expect_no_grep "no warning at mode 600" "readable by others" err
expect_no_grep "--check-config hides it" "s3cret-value" out

# One-offs need no INI file: --command or --sql, with -o for any key.
seq 1 5 | "$MPWORKER" --no-progress -j 3 --command 'echo got {}' >out 2>err; rc=$?
expect_eq "--command runs a template over standard input: exit 0" "$rc" 0
expect_eq "once per line" "$(sort out | tr '\n' ' ')" "got 1 got 2 got 3 got 4 got 5 "
if [ -e "$BUILDDIR/drivers/sqlite.so" ]; then
	printf 'CREATE TABLE t (v int);\nINSERT INTO t VALUES (7);\n' | "$MPWORKER" --no-progress -j 1 --sql \
		-o database.driver=sqlite -o database.path=adhoc.db -o database.create=yes >out 2>err
	expect_eq "--sql with [database] from -o: exit 0" "$?" 0
	echo 'SELECT v * 6 FROM t' | "$MPWORKER" --no-progress --sql -o database.driver=sqlite -o database.path=adhoc.db >out 2>err
	expect_eq "and the rows come back" "$(cat out)" 42
	# A driver built but not installed (a package left out) is refused before anything runs.
	mkdir -p nodrivers
	echo 'INSERT INTO t VALUES (8);' | MPWORKER_DRIVER_DIR=$PWD/nodrivers "$MPWORKER" --no-progress --sql \
		-o database.driver=sqlite -o database.path=adhoc.db >out 2>err
	expect_eq "a driver module that is not there: exit 2" "$?" 2
	expect_grep "naming the driver and its package" "driver sqlite is not installed: no $PWD/nodrivers/sqlite.so.*mpworker-sqlite" err
	expect_eq "and nothing ran" "$(echo 'SELECT count(*) FROM t' | "$MPWORKER" --no-progress --sql -o database.driver=sqlite -o database.path=adhoc.db 2>/dev/null)" 1
	MPWORKER_DRIVER_DIR=$PWD/nodrivers "$MPWORKER" -o database.driver=sqlite -o database.path=adhoc.db --sql --check-config >/dev/null 2>err
	expect_eq "--check-config says so too: exit 2" "$?" 2
fi
run_mpw --command 'echo {}' -o pool.wrkers=3
expect_eq "-o with a misspelt key exits 2" "$rc" 2
expect_grep "naming it, with a suggestion" "\-o pool.wrkers=3: \[pool\] wrkers: unknown key \(did you mean 'workers'\?\)" err
run_mpw --command 'echo {}' -o workers
expect_eq "-o that is not section.key=value exits 2" "$rc" 2
mkdir -p conf sub
printf '[pool]\nworkers = 4\n[jobs]\njob = echo from-the-file\n' > conf/o.ini
run_mpw -c conf/o.ini -o pool.workers=2 -o jobs.job='echo from-o' -o pool.joblog=sub/o.joblog --check-config
expect_grep "-o sets a key over the file's" "^workers = 2" out
expect_grep "a list key gets one more value" "^job = echo from-o" out
expect_grep "and a path in -o is relative to the current directory" "^joblog = sub/o.joblog" out
# -c <(...): a pipe has no directory, so its relative paths start here.
printf 'piped\n' > piped.txt
"$MPWORKER" --no-progress -c <(printf '[jobs]\nfile = piped.txt\n[command]\ntemplate = echo {}\n') >out 2>err
expect_eq "-c <(...) reads the INI from a pipe: exit 0" "$?" 0
expect_eq "and finds its jobs file from the current directory" "$(cat out)" piped

finish
