# distroless-debug: the user of a process (POSIX sh), for the session's banner and cp's errors.

# UID, GID and effective capabilities (hex) of process $1 (a PID or self), from
# /proc/$1/status, which any process of the PID namespace may read: in dd_u, dd_g, dd_cap.
dd_ids() {
  dd_u=?
  dd_g=?
  dd_cap=0
  while read -r dd_a dd_b _; do
    case $dd_a in Uid:) dd_u=$dd_b ;; Gid:) dd_g=$dd_b ;; CapEff:) dd_cap=$dd_b ;; esac
  done 2>/dev/null <"/proc/$1/status"
}
