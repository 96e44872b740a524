# distroless-debug keep-alive (POSIX sh): the main process of every debug container.
# Shells and commands come through exec (session.sh); this keeps the container alive and ends
# it: at its time to live (DISTROLESS_DEBUG_TTL seconds), on TERM from the kubelet, and, unless
# the container is kept for reuse (DISTROLESS_DEBUG_KEEPALIVE=1), as soon as no session runs in
# it any more (or none came within a minute). It prints nothing else: a container's output is
# its log, readable with pods/log.

# Ends every session (see dd_children), then this process: the container ends with it.
dd_stop() {
  kill "$dd_clock" "$dd_tick" 2>/dev/null
  wait 2>/dev/null
  dd_children 0
  for dd_p in $dd_k; do [ "$dd_p" = $$ ] || dd_end "$dd_p"; done
  exit 0
}

dd_ttl=${DISTROLESS_DEBUG_TTL:-3600}
case $dd_ttl in '' | 0 | *[!0-9]*) dd_ttl=3600 ;; esac
dd_tick=
trap dd_stop TERM INT HUP
sleep "$dd_ttl" &
dd_clock=$!
if [ "${DISTROLESS_DEBUG_KEEPALIVE:-}" = 1 ]; then
  wait "$dd_clock"
else
  dd_had=0
  dd_idle=0
  while kill -0 "$dd_clock" 2>/dev/null; do
    sleep 2 &
    dd_tick=$!
    wait "$dd_tick"
    dd_children 0
    if [ "$dd_k" != " $$" ]; then
      dd_had=1
      dd_idle=0
    else
      dd_idle=$((dd_idle + 2))
      [ "$dd_had" = 1 ] || [ "$dd_idle" -ge 60 ] && dd_stop
    fi
  done
fi
printf 'distroless-debug: time to live of %ss reached; ending the debug container\n' "$dd_ttl" >&2
dd_stop
