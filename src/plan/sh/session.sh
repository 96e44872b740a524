# distroless-debug session (POSIX sh): every shell and command runs through exec as
#   sh -c SCRIPT MODE ID CONTAINER_ID [COMMAND [ARG...]]
# MODE ($0): distroless-debug        a shell, or a command with the client's stdin;
#            distroless-debug-lease  holds the session ID until the client is gone (its stdin
#                                    ends: exit, kill, lost connection), then ends that session;
#            distroless-debug-lease-all  the same, then the container (see keepalive.sh);
#            distroless-debug-cmd    a command without input: its stdin is its own lease.
# ID: the session's ID, to find it (letters, digits and dashes, so a plain grep pattern: busybox
# grep -F stops at the first NUL of a cmdline). CONTAINER_ID: the target container's runtime ID
# when the pod shares one PID namespace (the target's main process is then not PID 1), else empty.
# The session stays the parent of what it runs, so that it can be found and ended in order.
dd_id=$1
dd_cid=$2
shift 2

case $0 in distroless-debug-lease*)
  while read -r _; do :; done
  for dd_f in $(grep -l -e "$dd_id" /proc/[0-9]*/cmdline 2>/dev/null); do
    dd_p=${dd_f%/cmdline}
    dd_p=${dd_p#/proc/}
    [ "$dd_p" != $$ ] && [ "/proc/$dd_p/ns/mnt" -ef /proc/$$/ns/mnt ] && dd_end "$dd_p"
  done
  if [ "$0" = distroless-debug-lease-all ]; then
    dd_children 0
    for dd_p in $dd_k; do [ "$dd_p" = $$ ] || kill -TERM "$dd_p"; done
  fi
  exit 0
  ;;
esac

dd_target "$dd_cid"
# A node pod gives the host's root (DISTROLESS_DEBUG_ROOT=/host).
TARGET_ROOT=${DISTROLESS_DEBUG_ROOT:-/proc/$TARGET_PID/root}
export TARGET_PID TARGET_ROOT

if [ "$0" = distroless-debug-cmd ]; then
  # stdin is the lease: the client closes it only when it is gone.
  dd_leased "$@"
  exit
fi
if [ "$#" -gt 0 ]; then
  "$@"
  exit
fi
if ! [ -t 0 ]; then
  # A script on stdin.
  sh
  exit
fi

dd_ids "$TARGET_PID"
dd_tu=$dd_u
dd_tg=$dd_g
dd_ids self
dd_ptrace=no
[ $((0x$dd_cap >> 19 & 1)) = 1 ] && dd_ptrace=yes
if cd "$TARGET_ROOT" 2>/dev/null; then
  dd_files="\$TARGET_ROOT = $TARGET_ROOT, the working directory"
elif [ "$dd_ptrace" = no ] && { [ "$dd_u" != "$dd_tu" ] || [ "$dd_g" != "$dd_tg" ]; }; then
  dd_files="not readable: reading $TARGET_ROOT needs the target's UID and GID or CAP_SYS_PTRACE, and this shell has neither"
else
  dd_files="not readable: $TARGET_ROOT is denied to this shell"
fi
read -r dd_cmd 2>/dev/null <"/proc/$TARGET_PID/comm"
dd_what="container \"${DISTROLESS_DEBUG_TARGET:-?}\""
[ "$DISTROLESS_DEBUG_NODE" ] && dd_what="node \"$DISTROLESS_DEBUG_NODE\" (host namespaces)"
{
  printf 'distroless-debug: target %s, PID %s (%s)\n' "$dd_what" "$TARGET_PID" "${dd_cmd:-?}"
  printf '  target:      UID %s, GID %s\n' "$dd_tu" "$dd_tg"
  printf '  this shell:  UID %s, GID %s, CAP_SYS_PTRACE %s\n' "$dd_u" "$dd_g" "$dd_ptrace"
  printf '  its files:   %s\n' "$dd_files"
  printf '  its env:     target_env\n'
  # A copy (debug by copy): the target is held, its entrypoint not run.
  [ "$DISTROLESS_DEBUG_COPY_OF" ] && printf '  held:        not run: %s; target_run [strace -f] runs it\n' "${TARGET_COMMAND:-(the image's entrypoint)} $TARGET_ARGS"
} >&2
dd_ps='$'
[ "$dd_u" = 0 ] && dd_ps='#'
PS1="[debug ${DISTROLESS_DEBUG_TARGET:-target}] $dd_ps " ENV=/proc/self/fd/9 sh -i 9<<'RC'
target_env() { tr '\0' '\n' <"/proc/$TARGET_PID/environ"; }
target_run() (
  [ "$TARGET_COMMAND" ] || { echo 'target_run: no command in the spec: TARGET_COMMAND=PROGRAM target_run' >&2; exit 2; }
  dd_e=$(target_env)
  IFS=:
  for dd_c in $PATH; do [ -x "$dd_c/chroot" ] && break; done
  IFS='
'
  eval "set -- \"\$@\" env -i \$dd_e \"\$dd_c/chroot\" \"\$TARGET_ROOT\" $TARGET_COMMAND $TARGET_ARGS"
  exec "$@"
)
exec 9<&-
RC
