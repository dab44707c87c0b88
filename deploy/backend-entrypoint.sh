#!/usr/bin/env bash
# Entry point of the backend image (apps/backend/Dockerfile).
# With LITESTREAM_BUCKET set (production): restores the SQLite database from
# gs://$LITESTREAM_BUCKET when the local file is missing (a fresh Cloud Run
# instance), then runs the backend under `litestream replicate -exec`, which
# streams every WAL change to the bucket and forwards signals to the backend.
# Without it (a local `docker run`): starts the backend alone, no replication.
# Inputs: DATABASE_PATH, LITESTREAM_BUCKET, LITESTREAM_CONFIG, BACKEND_COMMAND.
set -euo pipefail
: "${DATABASE_PATH:=/var/lib/slideshow/slideshow.db}"
: "${LITESTREAM_CONFIG:=/etc/litestream.yml}"
: "${BACKEND_COMMAND:=node apps/backend/src/main.ts}"
export DATABASE_PATH

if [[ -z "${LITESTREAM_BUCKET:-}" ]]; then
  echo '{"severity":"WARNING","message":"LITESTREAM_BUCKET is not set: the database is not replicated"}' >&2
  # shellcheck disable=SC2086 # BACKEND_COMMAND is a command line on purpose
  exec $BACKEND_COMMAND
fi
export LITESTREAM_BUCKET
mkdir -p "$(dirname "$DATABASE_PATH")"
# -if-db-not-exists: never overwrite a database already on disk;
# -if-replica-exists: the very first start (no replica yet) begins empty.
litestream restore -config "$LITESTREAM_CONFIG" -if-db-not-exists -if-replica-exists "$DATABASE_PATH"
exec litestream replicate -config "$LITESTREAM_CONFIG" -exec "$BACKEND_COMMAND"
