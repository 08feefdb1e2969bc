#!/bin/sh
# Throwaway PostgreSQL and MariaDB servers for the tests and benchmarks,
# in a directory of their own, each on its own unix socket and TCP port
# on 127.0.0.1, run by an unprivileged user (PostgreSQL refuses root).
#
#   tests/servers.sh start DIR [pg|my|all]   start them; DIR/env holds how to reach them
#   tests/servers.sh stop DIR                stop them and remove DIR
#   tests/servers.sh restart DIR pg|my       stop and start one again, same data and port
#
# DIR/env sets MPW_PG_SOCKET MPW_PG_PORT MPW_MY_SOCKET MPW_MY_PORT, and
# the user mpw, password mpwpass, database mpw on both.
#
# MPW_LISTEN=any (at start) makes them listen on every address, not only
# 127.0.0.1, with password logins from 10.0.0.0/8: multi-host tests reach
# them from network namespaces of their own, over veth pairs.
set -eu

cmd=${1:?usage: servers.sh start|stop|restart DIR [pg|my|all]}
D=${2:?usage: servers.sh start|stop|restart DIR [pg|my|all]}
which=${3:-all}
RUNAS=mpwtest

as_user() {
	if [ "$(id -u)" -eq 0 ]; then runuser -u "$RUNAS" -- "$@"; else "$@"; fi
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pg_bin() {
	ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

# Tests run the servers without waiting for the disk; MPW_DURABLE=1 keeps
# the servers' durable defaults (fsync, a log flush per commit), as users
# run them: benchmarks measure both.
pg_start() {
	. "$D/env"
	fast="-c fsync=off -c full_page_writes=off"
	[ "${MPW_DURABLE:-0}" = 1 ] && fast=""
	listen=127.0.0.1
	[ "${MPW_LISTEN:-}" = any ] && listen='*'
	as_user "$(pg_bin)/pg_ctl" -D "$D/pg/data" -l "$D/pg/log" -w -t 60 -o \
		"-k $D/pg -p $MPW_PG_PORT -c listen_addresses=$listen $fast -c max_connections=300" \
		start >/dev/null
}

my_start() {
	. "$D/env"
	as_user setsid mariadbd --no-defaults --datadir="$D/my/data" --socket="$MPW_MY_SOCKET" \
		--port="$MPW_MY_PORT" --bind-address="$( [ "${MPW_LISTEN:-}" = any ] && echo 0.0.0.0 || echo 127.0.0.1)" \
		--pid-file="$D/my/pid" \
		--log-error="$D/my/log" --skip-log-bin \
		--innodb-flush-log-at-trx-commit="$( [ "${MPW_DURABLE:-0}" = 1 ] && echo 1 || echo 2)" \
		--innodb-buffer-pool-size=128M --max-connections=400 --skip-name-resolve \
		</dev/null >/dev/null 2>&1 &
	i=0
	until mariadb-admin --no-defaults -S "$MPW_MY_SOCKET" -u root ping >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 600 ]; then echo "MariaDB did not start:"; tail -20 "$D/my/log"; exit 1; fi
		sleep 0.1
	done
}

pg_stop() {
	[ -d "$D/pg/data" ] && as_user "$(pg_bin)/pg_ctl" -D "$D/pg/data" -m fast -w stop >/dev/null 2>&1 || true
}

my_stop() {
	if [ -f "$D/my/pid" ]; then
		pid=$(cat "$D/my/pid")
		kill "$pid" 2>/dev/null || true
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	fi
}

case $cmd in
start)
	missing=""
	[ -n "$(pg_bin)" ] || missing="$missing postgresql"
	command -v mariadbd >/dev/null || missing="$missing mariadb-server"
	if [ -n "$missing" ]; then echo "servers.sh: not installed:$missing (build-aux/deps.sh test)"; exit 1; fi
	if [ "$(id -u)" -eq 0 ] && ! id "$RUNAS" >/dev/null 2>&1; then
		useradd --system --no-create-home --shell /usr/sbin/nologin "$RUNAS"
	fi
	mkdir -p "$D"
	chmod 755 "$D"
	cat > "$D/env" <<ENV
MPW_PG_SOCKET=$D/pg
MPW_PG_PORT=$(free_port)
MPW_MY_SOCKET=$D/my/mysql.sock
MPW_MY_PORT=$(free_port)
MPW_DB_USER=mpw
MPW_DB_PASSWORD=mpwpass
MPW_DB_NAME=mpw
MPW_LISTEN=${MPW_LISTEN:-}
export MPW_PG_SOCKET MPW_PG_PORT MPW_MY_SOCKET MPW_MY_PORT MPW_DB_USER MPW_DB_PASSWORD MPW_DB_NAME MPW_LISTEN
ENV
	. "$D/env"
	if [ "$which" != my ]; then
		mkdir -p "$D/pg"
		[ "$(id -u)" -eq 0 ] && chown "$RUNAS" "$D/pg"
		as_user "$(pg_bin)/initdb" -D "$D/pg/data" -U postgres -E UTF8 --auth-local=trust \
			--auth-host=scram-sha-256 >/dev/null
		[ "${MPW_LISTEN:-}" = any ] &&
			echo "host all all 10.0.0.0/8 scram-sha-256" >> "$D/pg/data/pg_hba.conf"
		pg_start
		psql -X -q -h "$D/pg" -p "$MPW_PG_PORT" -U postgres -d postgres \
			-c "CREATE ROLE mpw LOGIN SUPERUSER PASSWORD 'mpwpass'" \
			-c "CREATE DATABASE mpw OWNER mpw" >/dev/null
	fi
	if [ "$which" != pg ]; then
		mkdir -p "$D/my"
		[ "$(id -u)" -eq 0 ] && chown "$RUNAS" "$D/my"
		as_user mariadb-install-db --no-defaults --datadir="$D/my/data" \
			--auth-root-authentication-method=normal --skip-test-db >/dev/null 2>&1
		my_start
		mariadb --no-defaults -S "$MPW_MY_SOCKET" -u root -e "
			CREATE DATABASE mpw;
			CREATE USER mpw@localhost IDENTIFIED BY 'mpwpass';
			CREATE USER mpw@'127.0.0.1' IDENTIFIED BY 'mpwpass';
			GRANT ALL ON *.* TO mpw@localhost;
			GRANT ALL ON *.* TO mpw@'127.0.0.1';
			CREATE USER mpw@'10.%' IDENTIFIED BY 'mpwpass';
			GRANT ALL ON *.* TO mpw@'10.%';"
	fi
	;;
stop)
	[ -f "$D/env" ] || exit 0
	pg_stop
	my_stop
	rm -rf "$D"
	;;
restart)
	case $which in
	pg) pg_stop; pg_start ;;
	my) my_stop; my_start ;;
	*) echo "restart takes pg or my"; exit 2 ;;
	esac
	;;
*)
	echo "usage: servers.sh start|stop|restart DIR [pg|my|all]"
	exit 2
	;;
esac
