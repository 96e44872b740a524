# distroless-debug entry script (POSIX sh; works with busybox ash, dash and bash).
#
# Run by the plugin in two ways, told apart by $0:
#   sh -c "$THIS_SCRIPT" distroless-debug [COMMAND [ARG...]]       the container's main process
#   sh -c "$THIS_SCRIPT" distroless-debug-exec [COMMAND [ARG...]]  through exec, in a kept container
# (A kept container's main process is keepalive.sh.)
# With no COMMAND it starts an interactive shell; with one it execs it. Either way it exports
#   TARGET_PID   the target container's main process, as seen from here
#   TARGET_ROOT  /proc/$TARGET_PID/root: the target's filesystem (volumes included)
# Settings come from the container's environment (see docs/entry-script.md):
#   DISTROLESS_DEBUG_TARGET      target container name (banner only)
#   DISTROLESS_DEBUG_HANDSHAKE   tty | stdin | none: wait until the client has attached
#   DISTROLESS_DEBUG_CHROOT      auto | never: offer the target's filesystem as the shell's root
#   DISTROLESS_DEBUG_TTL         seconds after which the container ends by itself (0 or unset: never)
#   DISTROLESS_DEBUG_TARGET_PID  override the detected target process
#   DISTROLESS_DEBUG_BY, _AT, _REASON, _VERSION, _PROFILE   audit record (shown in the banner)

dd_say() { printf 'distroless-debug: %s\n' "$*" >&2; }

# Output written before the client attaches is lost to the attach, so wait for it.
# tty: the client sends a resize (cols+1, rows+1) as soon as it is attached, which changes the
#      size and signals WINCH to this foreground process. dd_handshake_begin, first thing in the
#      script, notes the size and sets the trap; dd_handshake, after the preparation, waits
#      for either (at most 10 s). The trap ends the `wait` at once; the size check covers a
#      shell that cannot trap WINCH.
# stdin: the client sends exactly one byte first; consume it.
dd_handshake_begin() {
  dd_winch=0
  [ "${DISTROLESS_DEBUG_HANDSHAKE:-none}" = tty ] || return 0
  trap 'dd_winch=1' WINCH 2>/dev/null
  dd_s0=$(stty size 2>/dev/null) || dd_s0=none
}

dd_handshake() {
  case "${DISTROLESS_DEBUG_HANDSHAKE:-none}" in
    tty)
      dd_i=0
      while [ "$dd_s0" != none ] && [ "$dd_i" -lt 200 ] && [ "$dd_winch" = 0 ]; do
        dd_s=$(stty size 2>/dev/null) || break
        [ "$dd_s" != "$dd_s0" ] && break
        { sleep 0.05 2>/dev/null || sleep 1; } &
        wait $!
        dd_i=$((dd_i + 1))
      done
      trap - WINCH 2>/dev/null
      ;;
    stdin)
      if command -v timeout >/dev/null 2>&1; then
        timeout 60 dd bs=1 count=1 of=/dev/null 2>/dev/null
      else
        dd bs=1 count=1 of=/dev/null 2>/dev/null
      fi
      ;;
  esac
  return 0
}

# The hook for a time to live: after DISTROLESS_DEBUG_TTL seconds, hang up process $1 (an
# interactive shell ignores TERM but not HUP), then kill it.
dd_arm_ttl() {
  # Through exec, the keep-alive main process enforces the TTL for the whole container.
  [ "$0" = distroless-debug-exec ] && return 0
  dd_ttl=${DISTROLESS_DEBUG_TTL:-0}
  case $dd_ttl in '' | *[!0-9]*) dd_ttl=0 ;; esac
  [ "$dd_ttl" -gt 0 ] || return 0
  (
    sleep "$dd_ttl"
    dd_say "time to live of ${dd_ttl}s reached; ending the session"
    kill -HUP "$1" 2>/dev/null
    sleep 5
    kill -KILL "$1" 2>/dev/null
  ) &
}

# The target's main process. With targetContainerName we share the target container's PID
# namespace, where its entrypoint is PID 1. With shareProcessNamespace the pod's pause process
# is PID 1: take the oldest process that is neither pause nor in our own mount namespace.
dd_find_target() {
  TARGET_PID=${DISTROLESS_DEBUG_TARGET_PID:-}
  [ -n "$TARGET_PID" ] && return 0
  TARGET_PID=1
  [ "$(cat /proc/1/comm 2>/dev/null)" = pause ] || return 0
  dd_self_ns=$(readlink /proc/$$/ns/mnt 2>/dev/null)
  for dd_p in $(ls /proc 2>/dev/null | grep '^[0-9][0-9]*$' | sort -n); do
    [ "$dd_p" = 1 ] && continue
    [ "$(cat "/proc/$dd_p/comm" 2>/dev/null)" = pause ] && continue
    dd_ns=$(readlink "/proc/$dd_p/ns/mnt" 2>/dev/null)
    [ -n "$dd_ns" ] && [ "$dd_ns" = "$dd_self_ns" ] && continue
    TARGET_PID=$dd_p
    return 0
  done
}

# How to run toolbox file $1 (a path in the toolbox) from inside the target's root: nothing
# for a static binary, the toolbox's dynamic loader for a dynamic one. Sets dd_prefix.
dd_prefix_for() {
  dd_prefix=
  dd_interp=$(dd if="$1" bs=1024 count=1 2>/dev/null | tr -c 'A-Za-z0-9/._+-' '\n' |
    grep -m 1 '^/[A-Za-z0-9/._+-]*/ld-[A-Za-z0-9._+-]*\.so[.0-9]*$')
  [ -n "$dd_interp" ] || return 0
  dd_prefix="$TB$dd_interp --library-path $DD_LIBPATH"
}

# Writes the shell's startup file: a prompt, and an alias for every toolbox program so that it
# runs from inside the target's root (absolute symlinks and dynamic binaries need the toolbox
# path spelled out; see docs/entry-script.md).
dd_write_rc() {
  dd_rc=$1
  {
    printf 'PS1=%s\n' "'[debug ${DISTROLESS_DEBUG_TARGET:-target}] \\w \\$ '"
    printf 'export TARGET_PID=%s TARGET_ROOT=/ TOOLBOX_ROOT=%s\n' "$TARGET_PID" "$TB"
    printf 'target_env() { tr "\\\\0" "\\\\n" < /proc/%s/environ; }\n' "$TARGET_PID"
    dd_applets=
    if [ -n "$DD_BUSYBOX" ]; then
      dd_applets=" $("$DD_BUSYBOX" --list | tr '\n' ' ') "
      "$DD_BUSYBOX" --list | sed "s|.*|alias &='$DD_BB_RUN &'|"
    fi
    # Collect the other programs first, then find the dynamic ones with one grep (one process
    # for the whole toolbox instead of one per program).
    dd_seen=" "
    dd_list=
    for dd_d in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
      [ -d "$dd_d" ] || continue
      for dd_n in $(ls -1 "$dd_d" 2>/dev/null); do
        case $dd_n in *[!A-Za-z0-9._+-]*) continue ;; esac
        case "$dd_applets$dd_seen" in *" $dd_n "*) continue ;; esac
        dd_seen="$dd_seen$dd_n "
        dd_f=$dd_d/$dd_n
        [ -L "$dd_f" ] && dd_f=$(readlink -f "$dd_f")
        [ -f "$dd_f" ] && [ -x "$dd_f" ] || continue
        if [ -n "$DD_BUSYBOX" ] && [ "$dd_f" = "$DD_BUSYBOX" ]; then
          printf "alias %s='%s'\n" "$dd_n" "$DD_BB_RUN"
          continue
        fi
        dd_list="$dd_list$dd_n=$dd_f
"
      done
    done
    dd_dynamic=" $(printf '%s' "$dd_list" | sed 's/^[^=]*=//' |
      xargs grep -l -e '/ld-linux' -e '/ld-musl' 2>/dev/null | tr '\n' ' ') "
    dd_dyn_prefix=
    printf '%s' "$dd_list" | while IFS== read -r dd_n dd_f; do
      case $dd_dynamic in
        *" $dd_f "*)
          # One toolbox, one libc: the first dynamic program's loader serves them all.
          [ -n "$dd_dyn_prefix" ] || { dd_prefix_for "$dd_f"; dd_dyn_prefix=$dd_prefix; }
          printf "alias %s='%s %s'\n" "$dd_n" "$dd_dyn_prefix" "$TB$dd_f"
          ;;
        *) printf "alias %s='%s'\n" "$dd_n" "$TB$dd_f" ;;
      esac
    done
  } >"$dd_rc" 2>/dev/null
}

# Whether the target's filesystem can be the interactive shell's root: returns 0 with
# everything ready (startup file written, dd_shell and dd_rcpath set), or sets dd_why and
# returns 1. Runs before the handshake, while the client is still attaching.
dd_chroot_prepare() {
  [ "${DISTROLESS_DEBUG_CHROOT:-auto}" = never ] && { dd_why="DISTROLESS_DEBUG_CHROOT=never"; return 1; }
  [ "$(id -u 2>/dev/null)" = 0 ] || { dd_why="the debug container runs as UID $(id -u 2>/dev/null), and chroot needs root"; return 1; }
  command -v chroot >/dev/null 2>&1 || { dd_why="the toolbox has no chroot"; return 1; }
  # Our own root, seen from inside the target's root: this process stays outside the chroot.
  TB=/proc/$$/root
  dd_lib=
  for dd_l in lib64 lib usr/lib64 usr/lib "lib/$(uname -m)-linux-gnu" "usr/lib/$(uname -m)-linux-gnu" usr/local/lib; do
    [ -d "/$dd_l" ] && dd_lib="$dd_lib${dd_lib:+:}$TB/$dd_l"
  done
  DD_LIBPATH=$dd_lib
  dd_sh=$(dd_which sh) && dd_sh=$(readlink -f "$dd_sh") || { dd_why="the toolbox has no sh"; return 1; }
  dd_prefix_for "$dd_sh"
  DD_BUSYBOX=
  DD_BB_RUN="$dd_prefix $TB$dd_sh"
  dd_shell="$DD_BB_RUN"
  case $dd_sh in */busybox)
    DD_BUSYBOX=$dd_sh
    dd_shell="$DD_BB_RUN sh"
    ;;
  esac
  # shellcheck disable=SC2086 # dd_shell is a command line by design
  if ! chroot "$TARGET_ROOT" $dd_shell -c : 2>/dev/null; then
    dd_why="chroot into $TARGET_ROOT failed (CAP_SYS_CHROOT dropped by the profile or --custom?)"
    return 1
  fi
  dd_rcdir=
  for dd_t in /tmp /var/tmp /dev/shm; do
    if [ -w "$dd_t" ]; then dd_rcdir=$dd_t; break; fi
  done
  dd_rcpath=
  if [ -n "$dd_rcdir" ]; then
    dd_rcpath=$dd_rcdir/distroless-debug.$$.rc
    dd_write_rc "$dd_rcpath" && dd_rcpath=$TB$dd_rcpath || dd_rcpath=
  fi
  return 0
}

# The interactive shell in the target's root, prepared by dd_chroot_prepare: it replaces this
# process (this function does not return).
dd_chroot_shell() {
  dd_banner "the target's filesystem (chroot); toolbox programs run from $TB"
  [ -n "$dd_rcpath" ] || dd_say "no writable directory in the toolbox: no aliases, use \$TOOLBOX_ROOT/bin/..."
  # The target's own directories first, then the toolbox's through our root.
  dd_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  dd_path="$dd_path:$TB/usr/local/sbin:$TB/usr/local/bin:$TB/usr/sbin:$TB/usr/bin:$TB/sbin:$TB/bin"
  # The shell replaces this process (exec), in the foreground: a job started with & by a
  # non-interactive shell ignores SIGINT, and Ctrl-C would never reach what the shell runs.
  # The TTL hook hangs up this PID, which the shell keeps.
  dd_arm_ttl $$
  # shellcheck disable=SC2086
  PATH=$dd_path ENV=$dd_rcpath TOOLBOX_ROOT=$TB TARGET_ROOT=/ HOME=/ \
    exec chroot "$TARGET_ROOT" $dd_shell -i
}

# Path of program $1 on PATH (busybox's standalone shell answers `command -v` with a bare
# applet name, so look ourselves).
dd_which() {
  dd_ifs=$IFS
  IFS=:
  for dd_w in $PATH; do
    if [ -f "$dd_w/$1" ] && [ -x "$dd_w/$1" ]; then
      IFS=$dd_ifs
      printf '%s\n' "$dd_w/$1"
      return 0
    fi
  done
  IFS=$dd_ifs
  return 1
}

dd_banner() {
  dd_cmd=$(tr '\0' ' ' <"/proc/$TARGET_PID/cmdline" 2>/dev/null)
  {
    printf 'distroless-debug: target container "%s", PID %s: %s\n' \
      "${DISTROLESS_DEBUG_TARGET:-?}" "$TARGET_PID" "${dd_cmd:-(cmdline not readable)}"
    printf '  its files: $TARGET_ROOT = %s\n' "$TARGET_ROOT"
    printf '  its environment: tr "\\0" "\\n" < /proc/%s/environ\n' "$TARGET_PID"
    printf '  shell root: %s\n' "$1"
  } >&2
}

# Through exec the streams are connected before the process starts: no handshake.
[ "$0" != distroless-debug-exec ] && dd_handshake_begin
dd_find_target
TARGET_ROOT=/proc/$TARGET_PID/root
export TARGET_PID TARGET_ROOT

# An interactive shell: all the preparation first, so that only the banner and the shell's
# start remain once the client has attached.
dd_interactive=0
if [ "$#" -eq 0 ] && [ -t 0 ] && [ -t 1 ]; then
  dd_interactive=1
  dd_chroot=0
  dd_chroot_prepare && dd_chroot=1
  if [ "$dd_chroot" = 0 ] && ! ls "$TARGET_ROOT/" >/dev/null 2>&1; then
    dd_why="$TARGET_ROOT is not readable: the target runs as another UID and this container has neither that UID nor CAP_SYS_PTRACE"
  fi
fi

[ "$0" != distroless-debug-exec ] && dd_handshake

if [ "$#" -gt 0 ]; then
  dd_arm_ttl $$
  exec "$@"
fi

if [ "$dd_interactive" = 1 ]; then
  [ "$dd_chroot" = 1 ] && dd_chroot_shell
  dd_banner "the toolbox (${dd_why}); the target's files are under \$TARGET_ROOT"
  # In the foreground, replacing this process: see dd_chroot_shell.
  dd_arm_ttl $$
  exec sh -i
else
  # No terminal: a plain shell reading the piped script, the target under $TARGET_ROOT.
  dd_arm_ttl $$
  exec sh
fi
