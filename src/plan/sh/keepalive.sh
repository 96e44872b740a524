# distroless-debug keep-alive (POSIX sh): the main process of every debug container.
# Shells and commands come through exec (session.sh); this keeps the container alive and ends
# it: at its time to live (DISTROLESS_DEBUG_TTL seconds), or on TERM (from the kubelet, or from
# the lease of the session a container that is not kept for reuse ends with), and, unless the
# container is kept for reuse (DISTROLESS_DEBUG_KEEPALIVE=1), after a minute if no session came.
# It prints nothing else: a container's output is its log, readable with pods/log.

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
if [ "${DISTROLESS_DEBUG_KEEPALIVE:-}" != 1 ]; then
  dd_grace=60
  [ "$dd_ttl" -lt 60 ] && dd_grace=$dd_ttl
  sleep "$dd_grace" &
  dd_tick=$!
  wait "$dd_tick"
  dd_children 0
  [ "$dd_k" = " $$" ] && dd_stop
fi
wait "$dd_clock"
printf 'distroless-debug: time to live of %ss reached; ending the debug container\n' "$dd_ttl" >&2
dd_stop
