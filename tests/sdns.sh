#!/bin/sh
# A real systemd as PID 1 in namespaces of its own, for testing the units
# as an operator would use them (start, reload, stop, the journal), on a
# machine whose own PID 1 is not systemd.  Root only.
#
#   tests/sdns.sh check             exit 0 if it can run here, else say why
#   tests/sdns.sh start DIR         boot it; DIR holds its state
#   tests/sdns.sh exec DIR CMD...   run CMD inside (systemctl, journalctl, ...)
#   tests/sdns.sh stop DIR          power it off; nothing is left behind
#
# Its root is an overlay of / on a tmpfs: whatever is written inside
# (units, the installed program, the journal) stays inside and is gone at
# stop; files from outside go in through exec (tar -x from a pipe).  It
# has its own PID, mount, UTS, IPC and cgroup namespaces, the host's
# network, and boots basic.target only, so that the host's enabled
# database servers are not started in it.
set -eu

cmd=${1:?usage: sdns.sh check|start|exec|stop DIR}
SELF=$(readlink -f "$0")

cg_root() {
	for d in /sys/fs/cgroup/unified /sys/fs/cgroup; do
		[ "$(stat -f -c %T "$d" 2>/dev/null)" = cgroup2fs ] && { echo "$d"; return 0; }
	done
	return 1
}

check() {
	[ "$(id -u)" -eq 0 ] || { echo "not root"; return 1; }
	[ -x /lib/systemd/systemd ] || { echo "no /lib/systemd/systemd"; return 1; }
	cg_root >/dev/null || { echo "no cgroup2 file system mounted"; return 1; }
	grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || { echo "no overlayfs"; return 1; }
	for p in unshare nsenter setpriv pivot_root; do
		command -v $p >/dev/null || { echo "no $p"; return 1; }
	done
}

if [ "$cmd" = check ]; then
	check
	exit
fi
D=${2:?usage: sdns.sh check|start|exec|stop DIR}

# Inside the new namespaces, as their PID 1 to be: build the root, then
# become systemd.  $1 is DIR, $2 the cgroup.
boot() {
	D=$1 CG=$2
	# /proc is still the host's: this shell's own entry gives its host PID.
	read -r hostpid _ < /proc/self/stat
	echo "$hostpid" > "$D/pid"
	echo 0 > "$CG/sys/cgroup.procs"	# 0: this process (a PID would be read in the new namespace)
	exec unshare --cgroup -- /bin/sh "$SELF" boot2 "$D"
}

boot2() {
	D=$1
	mkdir -p "$D/ns"
	mount -t tmpfs -o mode=755 tmpfs "$D/ns"
	mkdir "$D/ns/upper" "$D/ns/work" "$D/ns/root"
	mount -t overlay overlay -o "lowerdir=/,upperdir=$D/ns/upper,workdir=$D/ns/work" "$D/ns/root"
	cd "$D/ns/root"
	mount -t proc proc proc
	mount --bind proc/sys proc/sys
	mount -o remount,bind,ro proc/sys
	mount -t sysfs -o ro sysfs sys
	mount -t cgroup2 cgroup2 sys/fs/cgroup
	mount -t tmpfs -o mode=755 tmpfs dev
	cp -a /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty dev/
	mkdir dev/pts dev/shm
	mount -t devpts -o newinstance,ptmxmode=0666 devpts dev/pts
	ln -s pts/ptmx dev/ptmx
	mount -t tmpfs tmpfs dev/shm
	: > dev/console
	mount --bind /dev/null dev/console
	mount -t tmpfs -o mode=755 tmpfs run
	mount -t tmpfs -o mode=1777 tmpfs tmp
	# systemd-tmpfiles empties /tmp at boot: it must be this private one.
	od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > etc/machine-id
	echo mpw-test > etc/hostname
	mkdir -p run/oldroot
	pivot_root . run/oldroot
	cd /
	umount -l /run/oldroot
	exec setpriv --bounding-set -sys_module,-sys_rawio,-sys_time,-syslog,-audit_read \
		env -i container=mpw-test /lib/systemd/systemd --unit=basic.target
}

in_ns() {
	pid=$(cat "$D/pid")
	nsenter -t "$pid" -m -u -i -p -C -r -w -- "$@"
}

case $cmd in
boot) boot "$2" "$3" ;;
boot2) boot2 "$2" ;;
start)
	why=$(check) || { echo "cannot boot systemd here: $why" >&2; exit 1; }
	mkdir -p "$D"
	D=$(cd "$D" && pwd)
	CG=$(cg_root)/mpw-sd.$$
	mkdir -p "$CG/ctl" "$CG/sys"
	echo "$CG" > "$D/cgroup"
	rm -f "$D/pid"
	(
		echo 0 > "$CG/ctl/cgroup.procs"
		exec setsid unshare --mount --uts --ipc --pid --fork --propagation private -- \
			/bin/sh "$SELF" boot "$D" "$CG"
	) </dev/null >"$D/boot.log" 2>&1 &
	i=0
	until [ -s "$D/pid" ] && state=$(in_ns systemctl is-system-running 2>/dev/null) &&
	    { [ "$state" = running ] || [ "$state" = degraded ]; }; do
		i=$((i + 1))
		if [ "$i" -gt 300 ]; then
			echo "systemd did not boot in 30 s (${state:-no state}); see $D/boot.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	;;
exec)
	shift 2
	in_ns "$@"
	;;
stop)
	[ -s "$D/pid" ] || exit 0
	pid=$(cat "$D/pid")
	in_ns journalctl --no-pager -o short-precise > "$D/journal.txt" 2>/dev/null || true
	kill -s RTMIN+4 "$pid" 2>/dev/null || true
	i=0
	while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do
		i=$((i + 1))
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
	CG=$(cat "$D/cgroup")
	[ -e "$CG/cgroup.kill" ] && echo 1 > "$CG/cgroup.kill" 2>/dev/null || true
	# systemd's own cgroups under sys/ go first, deepest first.
	i=0
	while [ -d "$CG" ] && [ "$i" -lt 50 ]; do
		find "$CG" -depth -type d -exec rmdir {} + 2>/dev/null || true
		i=$((i + 1))
		[ -d "$CG" ] && sleep 0.1
	done
	rm -f "$D/pid"
	;;
*)
	echo "usage: sdns.sh check|start|exec|stop DIR" >&2
	exit 2
	;;
esac
