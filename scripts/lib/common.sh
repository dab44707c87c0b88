# shellcheck shell=bash
# Helpers shared by scripts/setup and scripts/rollback (sourced, not run).
#
# The one rule they enforce: every command that changes something goes
# through `mutate`, which prints it (stdout, `+ ` then the shell-quoted
# command, so it can be pasted) and runs it unless DRY_RUN=1. Read-only
# commands (describe, list) go through `query`: they run in a dry run too,
# because the dry run must know what already exists to print what it would do.

DRY_RUN="${DRY_RUN:-0}"
common_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# Prints a note for the operator on stderr.
note() { printf '%s\n' "$*" >&2; }

# Prints an error on stderr and exits 1.
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# Shell-quotes a command line for display.
quote_cmd() {
  local out='' arg
  for arg in "$@"; do
    if [[ "$arg" =~ ^[A-Za-z0-9_./:=@,+%^-]+$ ]]; then
      out+="${out:+ }$arg"
    else
      out+="${out:+ }$(printf '%q' "$arg")"
    fi
  done
  printf '%s' "$out"
}

# Runs (or, in a dry run, only prints) a command that changes something.
mutate() {
  printf '+ %s\n' "$(quote_cmd "$@")"
  if [[ "$DRY_RUN" == 1 ]]; then
    return 0
  fi
  "$@"
}

# Runs a read-only command, with its stderr kept out of the operator's way
# (a failing describe is the normal answer for "does not exist yet").
query() {
  "$@" 2>/dev/null
}

# True when the read-only command succeeds (used as "does it exist?").
exists() {
  query "$@" >/dev/null
}

# Divides with awk and prints a number with at most 2 decimals (bash has no floats).
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { v = a / b; s = sprintf("%.2f", v); sub(/\.?0+$/, "", s); print s }'
}

# Multiplies with awk, rounding down to an integer.
floor_mul() {
  awk -v a="$1" -v b="$2" 'BEGIN { printf "%d\n", a * b }'
}

# The scripts' TypeScript helpers (scripts/src/*) need the project's Node (24,
# .node-version: an older one may not strip types — only 22.18+ and 23.6+ do
# unflagged — and the code is tested on 24 alone) and the workspace's
# node_modules. The node on PATH runs them when it is that major and the
# dependencies are installed; otherwise tools/bootstrap.sh does, after
# installing the project's Node 24 into .tools/ and the dependencies on first
# use (as `npm start` does), so the scripts work on a fresh clone with another
# system Node (e.g. Debian's 20) too.
ts_runner() {
  local major wanted
  major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
  wanted="$(cut -d. -f1 "$common_dir/../../.node-version")"
  if [[ "$major" == "$wanted" ]] && [[ -d "$common_dir/../../node_modules/.pnpm" ]]; then
    printf '%s\n' node
  else
    printf '%s\n' "$common_dir/../../tools/bootstrap.sh"
  fi
}

# Runs a TypeScript helper: run_ts FILE [ARGS...] (see ts_runner).
run_ts() {
  local runner
  runner="$(ts_runner)"
  if [[ "$runner" == node ]]; then node "$@"; else bash "$runner" node "$@"; fi
}

# Replaces the shell with a TypeScript helper: exec_ts FILE [ARGS...] (see ts_runner).
exec_ts() {
  local runner
  runner="$(ts_runner)"
  if [[ "$runner" == node ]]; then exec node "$@"; else exec bash "$runner" node "$@"; fi
}
