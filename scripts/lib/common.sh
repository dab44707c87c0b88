# shellcheck shell=bash
# Helpers shared by scripts/setup and scripts/rollback (sourced, not run).
#
# The one rule they enforce: every command that changes something goes
# through `mutate`, which prints it (stdout, `+ ` then the shell-quoted
# command, so it can be pasted) and runs it unless DRY_RUN=1. Read-only
# commands (describe, list) go through `query` or `lookup`: they run in a dry
# run too, because the dry run must know what already exists to print what it
# would do. Only gcloud's "not found" means "does not exist"; any other failure
# of a read stops the script with gcloud's message, before it changes anything.

DRY_RUN="${DRY_RUN:-0}"
common_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# Prints a note for the operator on stderr.
note() { printf '%s\n' "$*" >&2; }

# Prints an error on stderr and exits 1.
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# Prints a usage error on stderr and exits 2.
usage_error() {
  printf 'error: %s (see --help)\n' "$*" >&2
  exit 2
}

# need_value "$@" in an option loop: a usage error naming the option ($1) when
# no value follows it (the end of the line, or another --option).
need_value() {
  [[ $# -ge 2 && "$2" != --* ]] || usage_error "$1 needs a value"
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

# gcloud's answers for "no such resource" (it exits 1 for every failure, so
# only its message tells them apart): NOT_FOUND from the APIs most commands
# call (`ERROR: (gcloud.tasks.queues.describe) NOT_FOUND: …`), `… not found:
# 404.` / `HTTPError 404:` from `gcloud storage`, and `Cannot find service
# [backend]` / `Cannot find job [processor].` from `gcloud run … describe`.
NOT_FOUND_PATTERN='NOT_FOUND|not found: 404|HTTPError 404|Cannot find (service|job) \['

# Stops on a read-only command that failed otherwise than "not found": gcloud's
# own message (from its first ERROR line on, blank lines dropped: the lines
# after it say what to do, e.g. "Please run: $ gcloud auth login"; all of it
# when it has no ERROR line) and the command, which names the project and
# region it used (without its output-shaping --format/--flatten, which say
# nothing about the failure).
query_failed() {
  local errors="$1" reason arg
  shift
  local -a shown=()
  for arg in "$@"; do
    [[ "$arg" == --format=* || "$arg" == --flatten=* ]] || shown+=("$arg")
  done
  reason="$(awk '/^ERROR/ { found = 1 } found && NF' <<<"$errors")"
  [[ -n "$reason" ]] || reason="$errors"
  die "$(quote_cmd "${shown[@]}") failed: ${reason:-exit status without a message}"
}

# Runs a read-only command and prints its output; on any failure, stops with
# gcloud's reason (query_failed). For reads whose target must exist. Inside
# `$(…)` the stop ends only the subshell: write `x="$(query …)" || exit`.
query() {
  local errors status=0
  { errors="$("$@" 2>&1 1>&3 3>&-)" || status=$?; } 3>&1
  ((status == 0)) || query_failed "$errors" "$@"
}

# lookup VAR COMMAND...: a read whose target may not exist. Sets VAR to the
# command's output and returns 0; returns 1 (VAR empty) when gcloud answers
# "not found"; any other failure (no network, wrong project, 403, …) stops the
# script, so it is never read as "does not exist yet". Not in a subshell, so
# that stop is the script's.
lookup() {
  local lookup_var="$1" lookup_errors lookup_out lookup_status=0
  shift
  lookup_errors="$(mktemp)"
  lookup_out="$("$@" 2>"$lookup_errors")" || lookup_status=$?
  printf -v "$lookup_var" '%s' "$lookup_out"
  if ((lookup_status == 0)); then
    rm -f "$lookup_errors"
    return 0
  fi
  printf -v "$lookup_var" '%s' ''
  lookup_out="$(cat "$lookup_errors")"
  rm -f "$lookup_errors"
  grep -Eq "$NOT_FOUND_PATTERN" <<<"$lookup_out" && return 1
  query_failed "$lookup_out" "$@"
}

# True when the read-only command finds its target (see lookup).
exists() {
  local found
  lookup found "$@"
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
