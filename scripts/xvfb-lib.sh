# Sourced by the scripts that run the real app under Xvfb (screenshots.sh,
# coldstart.sh): stopping a process and starting a private display. The
# caller sets $work (a temporary folder) and $script (its name, for errors);
# start_xvfb sets $xvfb_pid and $display.

# stop ends pid: TERM, up to 5 s, then KILL.
stop() {
	local pid=$1
	[[ -n "$pid" ]] || return 0
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# start_xvfb WxH starts Xvfb on the first free display, which it reports.
start_xvfb() {
	local geometry=$1 fifo="$work/displayfd"
	rm -f "$fifo"
	mkfifo "$fifo"
	Xvfb -displayfd 3 -screen 0 "${geometry}x24" -nolisten tcp -noreset 3>"$fifo" 2>"$work/xvfb.log" &
	xvfb_pid=$!
	if ! read -r -t 30 display <"$fifo" || [[ -z "$display" ]]; then
		cat "$work/xvfb.log" >&2
		echo "$script: Xvfb did not start" >&2
		exit 1
	fi
}
