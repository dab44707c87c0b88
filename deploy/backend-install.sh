#!/usr/bin/env bash
# Installs the backend's production dependencies into a copy of the workspace
# that holds only what the backend needs (root manifests, apps/backend,
# packages/, tools/). Used by apps/backend/Dockerfile and by
# scripts/test/backend-image.test.ts, so the image's layout is the tested one.
#
# Why not `pnpm deploy --prod`: our internal packages are consumed as .ts
# source, and Node refuses to strip types from files under node_modules
# (ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING). A filtered workspace install
# links them from node_modules to packages/*, whose real paths are outside
# node_modules, exactly as in development.
#
# Input: the current directory is that copy. Output: node_modules with
# production dependencies only; other workspace projects are not installed.
# Extra arguments go to pnpm (the test passes --offline).
set -euo pipefail
pnpm install --frozen-lockfile --prod --filter '@slideshow/backend...' --config.confirmModulesPurge=false "$@"
