#!/usr/bin/env bash
# cgroup-run.sh LIMIT -- CMD [ARGS...]
#
# Runs CMD inside a fresh memory cgroup limited to LIMIT bytes (suffixes K, M, G: binary), so
# tests can watch pensieve under a real memory limit. cgroup v2 is tried first (a child of the
# cgroup2 mount's root, with the memory controller enabled there), then cgroup v1 (a child of
# this shell's own memory cgroup, so every enclosing limit still applies). Swap is limited to
# zero where the kernel allows, so the limit is a limit on RAM.
#
# Exit status: CMD's own; 77 when no limited cgroup can be created here (not root, no memory
# controller, read-only cgroupfs), with the reason on stderr; 2 on bad usage.
# CMD sees PENSIEVE_CGROUP_DIR (the cgroup directory) and PENSIEVE_CGROUP_VERSION (1 or 2).
# Afterwards one line goes to stderr: "cgroup-run: limit=L peak=P oom_kills=K status=S".
set -uo pipefail

readonly kCannot=77

usage() {
  echo "usage: $0 LIMIT -- CMD [ARGS...]   (LIMIT like 512M, 2G or a byte count)" >&2
  exit 2
}
cannot() {
  echo "cgroup-run: cannot create a memory-limited cgroup: $*" >&2
  exit "$kCannot"
}

[ $# -ge 3 ] && [ "$2" = "--" ] || usage
limit_text=$1
shift 2

to_bytes() {
  local text=$1 number unit
  if [[ ! $text =~ ^([0-9]+)([KkMmGg]?)(i?[Bb])?$ ]]; then return 1; fi
  number=${BASH_REMATCH[1]}
  unit=${BASH_REMATCH[2]}
  case $unit in
    "") echo "$number" ;;
    [Kk]) echo $((number * 1024)) ;;
    [Mm]) echo $((number * 1024 * 1024)) ;;
    [Gg]) echo $((number * 1024 * 1024 * 1024)) ;;
  esac
}
limit=$(to_bytes "$limit_text") || usage
[ "$limit" -gt 0 ] || usage

name="pensieve-run-$$-$RANDOM"
cgroup_dir=""
version=""
home_dir=""  # where this shell goes back to before removing the cgroup

try_v2() {
  local mount
  mount=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts 2>/dev/null)
  [ -n "$mount" ] || { reasons+=("no cgroup2 mount"); return 1; }
  if ! grep -qw memory "$mount/cgroup.controllers" 2>/dev/null; then
    reasons+=("cgroup2 at $mount has no memory controller"); return 1
  fi
  if ! grep -qw memory "$mount/cgroup.subtree_control" 2>/dev/null; then
    echo +memory >"$mount/cgroup.subtree_control" 2>/dev/null ||
      { reasons+=("cannot enable the memory controller in $mount/cgroup.subtree_control"); return 1; }
  fi
  local own
  own=$(awk -F: '$1 == "0" { print $3; exit }' /proc/self/cgroup)
  mkdir "$mount/$name" 2>/dev/null || { reasons+=("cannot mkdir under $mount"); return 1; }
  if ! echo "$limit" >"$mount/$name/memory.max" 2>/dev/null; then
    rmdir "$mount/$name"; reasons+=("cannot write memory.max"); return 1
  fi
  echo 0 >"$mount/$name/memory.swap.max" 2>/dev/null || true
  cgroup_dir="$mount/$name"
  version=2
  home_dir="$mount${own:-/}"
}

try_v1() {
  local mount own
  mount=$(awk '$3 == "cgroup" && $4 ~ /(^|,)memory(,|$)/ { print $2; exit }' /proc/self/mounts 2>/dev/null)
  [ -n "$mount" ] || { reasons+=("no cgroup v1 memory mount"); return 1; }
  own=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3; exit }' /proc/self/cgroup)
  local parent="$mount${own:-}"
  [ -d "$parent" ] || parent=$mount  # our cgroup is not visible (namespaced): use the mount's root
  mkdir "$parent/$name" 2>/dev/null || { reasons+=("cannot mkdir under $parent"); return 1; }
  if ! echo "$limit" >"$parent/$name/memory.limit_in_bytes" 2>/dev/null; then
    rmdir "$parent/$name"; reasons+=("cannot write memory.limit_in_bytes"); return 1
  fi
  # RAM+swap limited to the same figure: no swapping past the limit.
  echo "$limit" >"$parent/$name/memory.memsw.limit_in_bytes" 2>/dev/null || true
  cgroup_dir="$parent/$name"
  version=1
  home_dir=$parent
}

reasons=()
joined_reasons() {
  local out="" r
  for r in "${reasons[@]}"; do out+="${out:+; }$r"; done
  echo "$out"
}
try_v2 || try_v1 || cannot "$(joined_reasons)"

if ! echo $$ >"$cgroup_dir/cgroup.procs" 2>/dev/null; then
  rmdir "$cgroup_dir" 2>/dev/null
  cannot "cannot move a process into $cgroup_dir"
fi

PENSIEVE_CGROUP_DIR=$cgroup_dir PENSIEVE_CGROUP_VERSION=$version "$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' INT TERM
wait "$child"
status=$?
# A trapped signal interrupts wait; wait again for the real status.
while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done

if [ "$version" = 2 ]; then
  peak=$(cat "$cgroup_dir/memory.peak" 2>/dev/null || echo unknown)
  oom_kills=$(awk '$1 == "oom_kill" { print $2 }' "$cgroup_dir/memory.events" 2>/dev/null)
else
  peak=$(cat "$cgroup_dir/memory.max_usage_in_bytes" 2>/dev/null || echo unknown)
  oom_kills=$(awk '$1 == "oom_kill" { print $2 }' "$cgroup_dir/memory.oom_control" 2>/dev/null)
fi
echo "cgroup-run: limit=$limit peak=$peak oom_kills=${oom_kills:-unknown} status=$status" >&2

echo $$ >"$home_dir/cgroup.procs" 2>/dev/null || true
rmdir "$cgroup_dir" 2>/dev/null ||
  echo "cgroup-run: left $cgroup_dir behind (processes still inside)" >&2
exit "$status"
