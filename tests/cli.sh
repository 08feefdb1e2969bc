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
expect_grep "it says a joblog is needed" "needs a joblog" err
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

finish
