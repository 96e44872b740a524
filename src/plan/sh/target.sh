# The target's main process (TARGET_PID): PID 1 of the PID namespace shared with the target
# container, or, when the whole pod shares one (shareProcessNamespace), the oldest process of
# the target container, found by its runtime ID ($1) in /proc/PID/cgroup.
dd_target() {
  TARGET_PID=1
  [ -n "$1" ] || return 0
  for dd_f in $(grep -l -e "$1" /proc/[0-9]*/cgroup 2>/dev/null); do
    dd_p=${dd_f%/cgroup}
    dd_p=${dd_p#/proc/}
    [ "$TARGET_PID" = 1 ] || [ "$dd_p" -lt "$TARGET_PID" ] && TARGET_PID=$dd_p
  done
}
