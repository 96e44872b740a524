# distroless-debug probe (POSIX sh): writes the target's UID and GID to the termination message
# and ends. Added once to a pod whose target runs as a user that neither the pod spec nor the
# runtime reports, so that a non-root debug container can be given exactly that user.
# $1: as dd_target's.
# What it cannot read it says instead, and fails: the plugin shows that as the reason.
dd_target "$1"
dd_u=
while read -r dd_a dd_b _; do
  case $dd_a in Uid:) dd_u=$dd_b ;; Gid:) dd_g=$dd_b ;; esac
done 2>/dev/null <"/proc/$TARGET_PID/status"
if [ -z "$dd_u" ]; then
  printf 'cannot read /proc/%s/status' "$TARGET_PID" >/dev/termination-log
  exit 1
fi
printf '%s %s' "$dd_u" "$dd_g" >/dev/termination-log
