# distroless-debug: what the keep-alive and session scripts share (POSIX sh).

# The processes of this container (its mount namespace) whose parent is $1, in dd_k; with 0,
# those the runtime started: the container's main process and the sessions exec'd into it.
# Fork-free: the shell reads /proc itself.
dd_children() {
  dd_k=
  for dd_f in /proc/[0-9]*/stat; do
    dd_p=${dd_f%/stat}
    dd_p=${dd_p#/proc/}
    [ "/proc/$dd_p/ns/mnt" -ef /proc/$$/ns/mnt ] || continue
    read -r dd_l 2>/dev/null <"$dd_f" || continue
    # After the command name (which may hold spaces and parentheses) and the state: the PPID.
    dd_l=${dd_l##*) }
    dd_l=${dd_l#* }
    [ "${dd_l%% *}" = "$1" ] && dd_k="$dd_k $dd_p"
  done
}

# Ends process $1 and everything it started, the deepest first, each one reaped by its own
# parent before that parent ends: an orphan of ours would be handed to the target's PID 1,
# which may never reap it (a zombie in the application's process table). HUP (interactive
# shells ignore TERM) and TERM, then KILL after 2 s; a zombie has ended.
dd_end() (
  dd_children "$1"
  for dd_c in $dd_k; do dd_end "$dd_c"; done
  kill -HUP "$1" 2>/dev/null || exit 0
  kill -TERM "$1" 2>/dev/null
  dd_i=0
  while [ "$dd_i" -lt 20 ] && read -r dd_l 2>/dev/null <"/proc/$1/stat"; do
    case ${dd_l##*) } in Z*) exit 0 ;; esac
    sleep 0.1 2>/dev/null || sleep 1
    dd_i=$((dd_i + 1))
  done
  kill -KILL "$1" 2>/dev/null
  exit 0
)
