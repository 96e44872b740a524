# distroless-debug: a command whose stdin is its lease (POSIX sh).

# Runs "$@" with stdin /dev/null and holds this script's stdin as the lease: the client holds
# it open without writing and closes it only when it is gone (exit, kill, lost connection, the
# end of a fan-out); then everything "$@" started is ended, deepest first (see dd_end). Returns
# the exit code of "$@".
dd_leased() {
  exec 3<&0 </dev/null
  (
    read -r dd_me _ </proc/self/stat
    while read -r _ <&3; do :; done
    dd_children $$
    for dd_c in $dd_k; do [ "$dd_c" = "$dd_me" ] || dd_end "$dd_c"; done
  ) &
  dd_w=$!
  exec 3<&-
  "$@"
  dd_rc=$?
  # Silently: a shell reports a job ended by a signal on the stderr of its wait.
  kill "$dd_w" 2>/dev/null
  wait "$dd_w" 2>/dev/null
  return "$dd_rc"
}
