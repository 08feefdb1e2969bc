# make install puts the program, both man pages, the reference config and the units in place.
. "$SRCDIR/tests/lib.sh"

: "${BUILDDIR:?run the tests through make check}"
make -s -C "$BUILDDIR" install DESTDIR="$T/root" prefix=/usr sysconfdir=/etc \
	systemdsystemunitdir=/usr/lib/systemd/system bashcompletiondir=/usr/share/bash-completion/completions >make.out 2>&1
expect_eq "make install succeeds" "$?" 0
check "the program" test -x root/usr/bin/mpworker
check "mpworker(1)" test -s root/usr/share/man/man1/mpworker.1
check "mpworker.ini(5)" test -s root/usr/share/man/man5/mpworker.ini.5
check "the reference config" test -s root/etc/mpworker.ini
check "the bash completion" test -s root/usr/share/bash-completion/completions/mpworker
check "the systemd units" test -s root/usr/lib/systemd/system/mpworker.service -a -s root/usr/lib/systemd/system/mpworker@.service
units=root/usr/lib/systemd/system
expect_grep "the unit runs the installed program on the installed INI" \
	"^ExecStart=/usr/bin/mpworker --service --config /etc/mpworker.ini$" $units/mpworker.service
expect_grep "the template unit one INI per instance" \
	"^ExecStart=/usr/bin/mpworker --service --config /etc/mpworker/%i.ini$" $units/mpworker@.service
expect_grep "a reload that fails is reported" "^ExecReload=/usr/bin/mpworker --reload --config" $units/mpworker.service
expect_grep "a configuration error is not restarted" "^RestartPreventExitStatus=2$" $units/mpworker.service
expect_eq "instances do not share state directories" \
	"$(sed -n 's/^StateDirectory=//p' $units/mpworker.service $units/mpworker@.service | tr '\n' ' ')" "mpworker mpworker-%i "
# systemd-analyze rates the sandbox (offline: the unit file alone).
cp $units/mpworker@.service $units/mpworker@x.service
for u in mpworker.service mpworker@x.service; do
	score=$(systemd-analyze security --offline=true $units/$u 2>/dev/null | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
	check "$u: exposure $score, 3.0 or lower" awk -v s="${score:-99}" 'BEGIN { exit !(s <= 3.0) }'
done
rm $units/mpworker@x.service
man -l root/usr/share/man/man5/mpworker.ini.5 >man.txt 2>man.err
expect_grep "the man page renders" "max_jobs_per_worker" man.txt
root/usr/bin/mpworker --version >v.out
expect_grep "the installed program runs" "^mpworker " v.out
check "the SQLite driver module" test -x root/usr/lib/mpworker/sqlite.so
check "which exports the driver table" sh -c 'nm -D root/usr/lib/mpworker/sqlite.so | grep -q " mpw_driver$"'

# Out of its build directory, a program loads its drivers from where it was
# configured to be installed, or from MPWORKER_DRIVER_DIR: so the staged
# modules are loaded from where they were staged, whatever this machine has
# installed, and a directory without them is an init failure naming the file.
printf '[jobs]\ntype = sql\njob = SELECT 1\n[database]\ndriver = sqlite\npath = %s/x.db\ncreate = yes\n' "$T" > lite.ini
MPWORKER_DRIVER_DIR=$T/root/usr/lib/mpworker root/usr/bin/mpworker -q -c lite.ini >out 2>err
expect_eq "the installed program runs a SQLite job with the staged module" "$?:$(cat out)" "0:1"
MPWORKER_DRIVER_DIR=$T/nowhere root/usr/bin/mpworker -q -c lite.ini >out 2>err
expect_eq "a missing driver module is a setup error: exit 2" "$?" 2
expect_grep "naming the module" "driver sqlite is not installed: no $T/nowhere/sqlite\.so" err
mkdir bad && echo "not a shared object" > bad/sqlite.so
MPWORKER_DRIVER_DIR=$T/bad root/usr/bin/mpworker -q -c lite.ini >out 2>err
expect_eq "a module that does not load: the workers cannot start, exit 3" "$?" 3
expect_grep "saying why" "cannot load driver sqlite: $T/bad/sqlite\.so" err

# Every shipped example is a valid config.
for ini in "$SRCDIR"/etc/examples/*.ini; do
	"$MPWORKER" --check-config -c "$ini" >/dev/null 2>err
	expect_eq "$(basename "$ini") passes --check-config" "$?" 0
done


# Every key the program knows is in the commented reference and in
# mpworker.ini(5): --check-config lists them all.
printf '[jobs]\njob = true\n' > keys.ini
"$MPWORKER" --check-config -c keys.ini > effective.ini
sed -n 's/^;*\([a-z_]*\) =.*/\1/p' effective.ini | sort -u > keys
undocumented=
for k in $(cat keys); do
	grep -q "^;$k = " "$SRCDIR/etc/mpworker.ini" || undocumented="$undocumented ini:$k"
	grep -qE "^\.BR? (.*[ \"])?$k([ \",]|\$)" "$SRCDIR/man/mpworker.ini.5" || undocumented="$undocumented man:$k"
done
expect_eq "every key is documented in etc/mpworker.ini and mpworker.ini(5) ($(wc -l < keys) keys)" "$undocumented" ""
# Every option --help names is in mpworker(1).
undocumented=
for o in $("$MPWORKER" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
	grep -qF -- "$(printf '%s' "$o" | sed 's/-/\\-/g')" "$SRCDIR/man/mpworker.1.in" || undocumented="$undocumented $o"
done
expect_eq "every option of --help is in mpworker(1)" "$undocumented" ""
# And every section (a key's name may be in another section too: socket).
sed -n 's/^\[\([a-z]*\)\]$/\1/p' effective.ini > sections
missing=
for s in $(cat sections); do
	grep -q "^\[$s\]$" "$SRCDIR/etc/mpworker.ini" || missing="$missing ini:[$s]"
	grep -q "^\.SH \[$s\]$" "$SRCDIR/man/mpworker.ini.5" || missing="$missing man:[$s]"
done
expect_eq "every section is in both too ($(wc -l < sections) sections)" "$missing" ""

finish
