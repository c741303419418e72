# client-lib.sh: sourced by the client shell tests: start a real batond on
# a socket in a fresh temporary directory and stop it on exit.
# Sets BATON_SOCKET, T (the temp dir), BATON (the CLI), BATOND.

: "${top_builddir:=$(cd "$(dirname "$0")/.." && pwd)}"
BATON="$top_builddir/libclient/baton"
BATOND="$top_builddir/broker/batond"
[ -x "$BATOND" ] || BATOND="$top_builddir/batond"
T=$(mktemp -d "${TMPDIR:-/tmp}/baton-test.XXXXXX")
chmod 700 "$T"
BATON_SOCKET="$T/batond.sock"
export BATON_SOCKET
broker_pid=

cleanup() {
	if [ -n "$broker_pid" ]; then
		kill "$broker_pid" 2>/dev/null
		wait "$broker_pid" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

# start_broker: run batond in the foreground (in the background of this
# shell) and wait until its socket answers.
start_broker() {
	if [ ! -x "$BATOND" ]; then
		echo "SKIP: $BATOND not built"
		exit 77
	fi
	mkdir -p "$T/state"
	chmod 700 "$T/state"
	"$BATOND" -f --socket "$BATON_SOCKET" --state-dir "$T/state" \
		>"$T/batond.log" 2>&1 &
	broker_pid=$!
	i=0
	while [ $i -lt 100 ]; do
		if [ -S "$BATON_SOCKET" ] && "$BATON" status >/dev/null 2>&1; then
			return 0
		fi
		if ! kill -0 "$broker_pid" 2>/dev/null; then
			echo "batond exited early:"; cat "$T/batond.log"
			exit 99
		fi
		sleep 0.05
		i=$((i + 1))
	done
	echo "batond did not come up:"; cat "$T/batond.log"
	exit 99
}

stop_broker() {
	if [ -n "$broker_pid" ]; then
		kill "$broker_pid" 2>/dev/null
		wait "$broker_pid" 2>/dev/null
		broker_pid=
	fi
}

fails=0
# check NAME EXPECTED-STATUS ACTUAL-STATUS
check() {
	if [ "$2" = "$3" ]; then
		echo "ok - $1"
	else
		echo "FAIL - $1: exit $3, expected $2"
		fails=$((fails + 1))
	fi
}
