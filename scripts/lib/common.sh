# shellcheck shell=bash
# Helpers shared by scripts/setup and scripts/rollback (sourced, not run).
#
# The one rule they enforce: every command that changes something goes
# through `mutate`, which prints it (stdout, `+ ` then the shell-quoted
# command, so it can be pasted) and runs it unless DRY_RUN=1. Read-only
# commands (describe, list) go through `query`: they run in a dry run too,
# because the dry run must know what already exists to print what it would do.

DRY_RUN="${DRY_RUN:-0}"

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
