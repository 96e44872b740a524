# distroless-debug probe (POSIX sh): writes the target's UID and GID to the termination message
# and ends. Added once to a pod whose target runs as a user that neither the pod spec nor the
# runtime reports, so that a non-root debug container can be given exactly that user.
# $1: as dd_target's.
dd_target "$1"
while read -r dd_a dd_b _; do
  case $dd_a in Uid:) dd_u=$dd_b ;; Gid:) dd_g=$dd_b ;; esac
done <"/proc/$TARGET_PID/status"
printf '%s %s' "$dd_u" "$dd_g" >/dev/termination-log
