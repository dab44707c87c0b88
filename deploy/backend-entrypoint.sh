#!/usr/bin/env bash
# Entry point of the backend image (apps/backend/Dockerfile).
# Starts the backend, which runs Litestream itself (apps/backend/src/writer/):
# it acquires the database lease in gs://$LITESTREAM_BUCKET, only then restores
# the database with `litestream restore` and replicates it with
# `litestream replicate -config $LITESTREAM_CONFIG`; on SIGTERM it stops
# Litestream (a final sync) and then releases the lease. The shell only sets
# defaults and execs, so SIGTERM reaches the backend directly.
# Without LITESTREAM_BUCKET (a local `docker run`): no replication; the lease is
# a file next to the database.
# Inputs: DATABASE_PATH, LITESTREAM_BUCKET, LITESTREAM_CONFIG, BACKEND_COMMAND.
set -euo pipefail
: "${DATABASE_PATH:=/var/lib/slideshow/slideshow.db}"
: "${LITESTREAM_CONFIG:=/etc/litestream.yml}"
: "${BACKEND_COMMAND:=node apps/backend/src/main.ts}"
export DATABASE_PATH LITESTREAM_CONFIG
mkdir -p "$(dirname "$DATABASE_PATH")"
# shellcheck disable=SC2086 # BACKEND_COMMAND is a command line on purpose
exec $BACKEND_COMMAND
