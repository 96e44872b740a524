# distroless-debug cp (POSIX sh): files out of and into the target's filesystem, through exec as
#   sh -c SCRIPT distroless-debug-cp ID CONTAINER_ID get PATH
#   sh -c SCRIPT distroless-debug-cp ID CONTAINER_ID put PATH NAME
# ID: the run's ID (temporary names); CONTAINER_ID: as dd_target's.
# PATH is resolved within the target's root: each symbolic link on the way is followed as the
# target would follow it, / being the target's root and .. stopping there (the kernel would
# resolve an absolute link from this container's root instead). Below PATH, links are copied as
# links and never followed, and nothing is written through one.
# get: PATH (a file, or a directory and all below it) as records on stdout, each file followed
#   by its SHA-256 as sha256sum prints it; stdin is the lease (dd_leased).
# put: records on stdin, written at PATH, or PATH/NAME when PATH is a directory and NAME is
#   given; each file to a temporary name, renamed once the SHA-256 the client sent matches.
#   A new file or directory belongs to the target's user, a replaced file keeps its owner.
# Records (src/plan/cp.rs reads and writes them): a line of fields, then the bytes the fields
# count. Anything that stops the copy is an E record and exit code 3: the plugin words it.
export LC_ALL=C
dd_id=$1
dd_op=$3
dd_path=$4
dd_name=$5
dd_tmp=

# The length of $1 in bytes, in dd_nb. ${#1} counts characters in a busybox built with Unicode
# support (defconfig, as Alpine's), whatever the locale: only ASCII is counted by it.
dd_len() {
  case $1 in
  *[!' '-~]*) dd_nb=$(($(printf %s "$1" | wc -c))) ;;
  *) dd_nb=${#1} ;;
  esac
}

# A fatal E record: kind and fields, then path $1 (the last field counts its bytes).
dd_die() {
  [ -z "$dd_tmp" ] || rm -f "$dd_tmp"
  dd_p=$1
  shift
  dd_len "$dd_p"
  printf 'E %s %s\n%s' "$*" "$dd_nb" "$dd_p"
  exit 3
}

# Resolves absolute path $1 within the target's root (the working directory) into dd_r: no
# link, no . or .. left; / is empty. Fails after 40 links.
dd_resolve() {
  dd_r=
  dd_x=$1
  dd_n=0
  while [ -n "$dd_x" ]; do
    dd_c=${dd_x%%/*}
    case $dd_x in */*) dd_x=${dd_x#*/} ;; *) dd_x= ;; esac
    case $dd_c in
    '' | .) ;;
    ..) dd_r=${dd_r%/*} ;;
    *)
      if [ -h ".$dd_r/$dd_c" ]; then
        dd_n=$((dd_n + 1))
        [ "$dd_n" -le 40 ] || return 1
        dd_l=$(readlink ".$dd_r/$dd_c") || return 1
        case $dd_l in /*) dd_r= ;; esac
        dd_x=$dd_l/$dd_x
      else
        dd_r=$dd_r/$dd_c
      fi
      ;;
    esac
  done
}

# Copies $1 bytes from stdin to stdout in 64 KiB blocks (busybox's head -c copies a byte at a
# time and reads ahead of what it copies).
dd_copy() {
  [ $(($1 / 65536)) = 0 ] || dd bs=65536 count=$(($1 / 65536)) iflag=fullblock 2>/dev/null || return 1
  [ $(($1 % 65536)) = 0 ] || dd bs=$(($1 % 65536)) count=1 iflag=fullblock 2>/dev/null
}

# The record of $1 (a path from the working directory), named $2 in the copy, and of all below
# it. Fails only when the output did: nothing more is started then.
dd_send() {
  dd_len "$2"
  if ! dd_s=$(stat -c '%f %Y %s' "$1" 2>/dev/null); then
    printf 'u %s\n%s' "$dd_nb" "$2"
    return
  fi
  dd_m=$((0x${dd_s%% *}))
  dd_s=${dd_s#* }
  dd_t=${dd_s%% *}
  dd_s=${dd_s#* }
  case $((dd_m & 61440)) in
  32768)
    if ! [ -r "$1" ]; then
      printf 'u %s\n%s' "$dd_nb" "$2"
      return
    fi
    printf 'f %o %s %s %s\n%s' $((dd_m & 511)) "$dd_t" "$dd_s" "$dd_nb" "$2" || return 1
    # The checksum of a second read, made while the first is sent.
    dd_copy "$dd_s" <"$1" | sha256sum | { dd_copy "$dd_s" <"$1" || exit 1; cat; }
    ;;
  16384)
    if ! [ -r "$1" ] || ! [ -x "$1" ]; then
      printf 'u %s\n%s' "$dd_nb" "$2"
      return
    fi
    printf 'd %o %s %s\n%s' $((dd_m & 511)) "$dd_t" "$dd_nb" "$2" || return 1
    dd_walk "$1" "$2" || return 1
    printf 'e\n'
    ;;
  40960)
    dd_n2=$dd_nb
    dd_l=$(readlink "$1") || dd_l=
    dd_len "$dd_l"
    printf 'l %s %s %s\n%s%s' "$dd_t" "$dd_nb" "$dd_n2" "$2" "$dd_l"
    ;;
  *) printf 's %x %s\n%s' "$dd_m" "$dd_nb" "$2" ;;
  esac
}

# The entries of directory $1, named $2 in the copy.
dd_walk() (
  for dd_f in "$1"/* "$1"/.[!.]* "$1"/..?*; do
    [ -e "$dd_f" ] || [ -h "$dd_f" ] || continue
    dd_send "$dd_f" "${2:+$2/}${dd_f##*/}" || exit 1
  done
)

dd_get() (
  dd_resolve "$dd_path" || dd_die "$dd_path" loop
  if ! [ -e ".$dd_r" ]; then
    [ -e ".${dd_r%/*}" ] && ! [ -d ".${dd_r%/*}" ] && dd_die "${dd_r%/*}" notdir
    dd_die "${dd_r:-/}" missing
  fi
  if [ -d ".$dd_r" ]; then
    cd ".$dd_r" 2>/dev/null || dd_die "${dd_r:-/}" denied
    dd_k=$(du -s -k . 2>/dev/null)
    dd_k=${dd_k%%[!0-9]*}
    printf 't %s\n' $((${dd_k:-0} * 1024))
    dd_r=.
  else
    dd_r=.$dd_r
  fi
  dd_send "$dd_r" '' || exit 1
  printf 'z\n'
)

# Reads $1 bytes of stdin into dd_v, trailing newlines kept; fails when the input ended first.
dd_take() {
  dd_v=
  [ "$1" = 0 ] && return
  dd_v=$(dd bs="$1" count=1 iflag=fullblock 2>/dev/null && echo x) || return 1
  dd_v=${dd_v%x}
  dd_len "$dd_v"
  [ "$dd_nb" = "$1" ]
}

# Gives new file $1 to the target's user when this container runs as root and it does not.
dd_own() {
  [ "$dd_u" = 0 ] && [ "$dd_tu" != 0 ] || return 0
  chown -h "$dd_tu:$dd_tg" "$1" 2>/dev/null || dd_die "$2" write chown
}

# put: where the copy goes (dd_dest), and the directory it is written in, checked writable.
dd_put_dest() {
  dd_resolve "$dd_path" || dd_die "$dd_path" loop
  if [ -d ".$dd_r" ]; then
    dd_dest=$dd_r${dd_name:+/$dd_name}
    dd_dir=$dd_r
    [ -n "$dd_name" ] && [ -d ".$dd_dest" ] && ! [ -h ".$dd_dest" ] && dd_dir=$dd_dest
  else
    dd_dest=$dd_r
    dd_dir=${dd_r%/*}
    [ -e ".$dd_dir" ] || dd_die "${dd_dir:-/}" missing
    [ -d ".$dd_dir" ] || dd_die "${dd_dir:-/}" notdir
  fi
  if ! [ -w ".$dd_dir" ]; then
    # Which mounts are read-only the plugin reads from the target's mount table.
    dd_v=$(cat "/proc/$TARGET_PID/mountinfo" 2>/dev/null)
    dd_dir=${dd_dir:-/}
    dd_len "$dd_v"
    dd_n2=$dd_nb
    dd_len "$dd_dir"
    printf 'E unwritable %s %s %s %s\n%s%s' "$dd_u" "$dd_g" "$dd_n2" "$dd_nb" "$dd_dir" "$dd_v"
    exit 3
  fi
}

dd_put() {
  dd_put_dest
  dd_len "$dd_dest"
  printf 'r %s\n%s' "$dd_nb" "$dd_dest"
  dd_tmp=
  set -C
  while read -r dd_k dd_a dd_b dd_c dd_d; do
    case $dd_k in
    z)
      printf 'z\n'
      exit 0
      ;;
    f) dd_take "$dd_d" ;;
    d | t) dd_take "$dd_c" ;;
    l) dd_take "$dd_c" ;;
    *) dd_die '' input ;;
    esac || dd_die '' input
    dd_q=$dd_dest${dd_v:+/$dd_v}
    dd_p=.$dd_q
    case $dd_k in
    f)
      [ -d "$dd_p" ] && ! [ -h "$dd_p" ] && dd_die "$dd_q" isdir
      dd_tmp=${dd_p%/*}/.distroless-debug-$dd_id
      dd_copy "$dd_c" 2>/dev/null >"$dd_tmp" || dd_die "$dd_q" write create
      read -r dd_h || dd_die '' input
      dd_s=$(sha256sum <"$dd_tmp") || dd_die "$dd_q" write read
      [ "${dd_s%% *}" = "$dd_h" ] || dd_die "$dd_q" checksum
      chmod "$dd_a" "$dd_tmp" || dd_die "$dd_q" write chmod
      if [ -f "$dd_p" ] && ! [ -h "$dd_p" ]; then
        dd_o=$(stat -c '%u:%g' "$dd_p") && [ "$dd_u" = 0 ] && { chown "$dd_o" "$dd_tmp" || dd_die "$dd_q" write chown; }
      else
        dd_own "$dd_tmp" "$dd_q"
      fi
      TZ=UTC0 touch -t "$dd_b" "$dd_tmp" || dd_die "$dd_q" write touch
      # mv into a link to a directory would move into the directory.
      ! [ -h "$dd_p" ] || rm -f "$dd_p" || dd_die "$dd_q" write rename
      mv -f "$dd_tmp" "$dd_p" || dd_die "$dd_q" write rename
      dd_tmp=
      ;;
    d)
      if [ -h "$dd_p" ]; then
        dd_die "$dd_q" link
      elif ! [ -d "$dd_p" ]; then
        [ -e "$dd_p" ] && dd_die "$dd_q" notdir
        mkdir "$dd_p" || dd_die "$dd_q" write mkdir
        dd_own "$dd_p" "$dd_q"
      fi
      ;;
    t)
      [ -d "$dd_p" ] && ! [ -h "$dd_p" ] || dd_die "$dd_q" notdir
      chmod "$dd_a" "$dd_p" || dd_die "$dd_q" write chmod
      TZ=UTC0 touch -t "$dd_b" "$dd_p" || dd_die "$dd_q" write touch
      ;;
    l)
      dd_take "$dd_b" || dd_die '' input
      [ -d "$dd_p" ] && ! [ -h "$dd_p" ] && dd_die "$dd_q" isdir
      rm -f "$dd_p" && ln -s -- "$dd_v" "$dd_p" || dd_die "$dd_q" write link
      dd_own "$dd_p" "$dd_q"
      ;;
    esac
  done
  dd_die '' input
}

dd_target "$2"
TARGET_ROOT=/proc/$TARGET_PID/root
dd_ids "$TARGET_PID"
dd_tu=$dd_u
dd_tg=$dd_g
dd_ids self
for dd_t in stat dd sha256sum readlink du cat wc mkdir chmod chown touch mv rm ln; do
  command -v "$dd_t" >/dev/null 2>&1 || dd_die '' tool "$dd_t"
done
printf x | dd bs=1 count=1 iflag=fullblock >/dev/null 2>&1 || dd_die '' tool dd-fullblock
if ! cd "$TARGET_ROOT" 2>/dev/null; then
  dd_die "$TARGET_ROOT" noroot "$dd_tu" "$dd_tg" "$dd_u" "$dd_g" $((0x$dd_cap >> 19 & 1))
fi
case $dd_op in
get) dd_leased dd_get ;;
put) dd_put ;;
esac
