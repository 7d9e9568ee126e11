#!/usr/bin/env bash
# Regenerate tests/lab/netbox/snapshot/netbox-<ver>-dns-<ver>.sql.gz: a pg_dump of a
# freshly migrated NetBox database (no users, no tokens), which up.sh restores into
# an empty database instead of running the ~6 min migrate from scratch.
# Re-run (and commit the result, removing the old file) whenever
# tests/lab/netbox/requirements.txt changes the netbox or netbox-plugin-dns version.
# Uses a scratch database "netbox_snapshot"; the lab's "netbox" database and a
# running NetBox are left alone. Takes about 6-7 minutes (much more on a busy machine).
#   --reuse-local   instead, copy the dump that up.sh saved after its own migrate from
#                   empty (.lab/netbox/snapshot/<same name>), if there is one
set -euo pipefail

# shellcheck source=lib.sh
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"
SCRATCH=netbox_snapshot

prepare
name="$(snapshot_name)"
out="$NB_HERE/snapshot/$name"
mkdir -p "$NB_HERE/snapshot"

if [[ "${1:-}" == --reuse-local && -f "$NB_ROOT/snapshot/$name" ]]; then
    gzip -dc "$NB_ROOT/snapshot/$name" | gzip -9n >"$out.tmp"
    mv "$out.tmp" "$out"
    log "wrote ${out#"$NB_REPO"/} from .lab/netbox/snapshot ($(du -h "$out" | cut -f1))"
    exit 0
fi

log "migrating scratch database $SCRATCH from empty (about 6 min; log: $LOGS/netbox-snapshot.log)"
psql_admin <<<"DROP DATABASE IF EXISTS $SCRATCH;"
ensure_database "$SCRATCH"
t=$SECONDS
(cd "$NB_ROOT" && NBSYNC_NETBOX_DB="$SCRATCH" "$VENV/bin/netbox" migrate --no-input) \
    >"$LOGS/netbox-snapshot.log" 2>&1 \
    || { tail -n 40 "$LOGS/netbox-snapshot.log" >&2; die "migrate of $SCRATCH failed"; }
log "migrated in $((SECONDS - t)) s"

PGPASSWORD="$(secret db_password)" pg_dump -h 127.0.0.1 -U netbox -d "$SCRATCH" \
    --no-owner --no-privileges | gzip -9n >"$out.tmp"
mv "$out.tmp" "$out"
psql_admin <<<"DROP DATABASE IF EXISTS $SCRATCH;"
log "wrote ${out#"$NB_REPO"/} ($(du -h "$out" | cut -f1))"

for old in "$NB_HERE"/snapshot/*.sql.gz; do
    [[ "$old" == "$out" ]] && continue
    log "older snapshot still present, remove it: git rm ${old#"$NB_REPO"/}"
done
