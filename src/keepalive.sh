# distroless-debug keep-alive (POSIX sh): the main process of a debug container kept for reuse.
# Commands and shells run in the container through exec, with the entry script (entry.sh); this
# only keeps the container alive. It sleeps until DISTROLESS_DEBUG_TTL seconds (default 3600)
# or a TERM from the kubelet, then hangs up and kills what runs through exec, and ends, which
# ends the container: the deadline holds even if no client is left. Kept small on purpose: it
# is in the pod spec of every kept container for the pod's life.

dd_say() { printf 'distroless-debug: %s\n' "$*" >&2; }

# Hangs up, then kills, every other process of this container (same mount namespace): the
# commands and shells that came through exec. The runtime would end them too once the main
# process is gone, but a shell deserves its HUP first.
dd_end_all() {
  dd_self_ns=$(readlink /proc/$$/ns/mnt 2>/dev/null) || return 0
  for dd_sig in HUP KILL; do
    for dd_d in /proc/[0-9]*; do
      dd_p=${dd_d#/proc/}
      [ "$dd_p" = "$$" ] && continue
      dd_ns=$(readlink "$dd_d/ns/mnt" 2>/dev/null) || continue
      [ "$dd_ns" = "$dd_self_ns" ] && kill "-$dd_sig" "$dd_p" 2>/dev/null
    done
    [ "$dd_sig" = HUP ] && sleep 1
  done
  return 0
}

dd_ttl=${DISTROLESS_DEBUG_TTL:-3600}
case $dd_ttl in '' | 0 | *[!0-9]*) dd_ttl=3600 ;; esac
trap 'exit 0' TERM INT HUP
sleep "$dd_ttl" &
wait $!
dd_say "time to live of ${dd_ttl}s reached; ending the debug container"
dd_end_all
exit 0
