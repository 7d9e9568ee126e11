#!/usr/bin/env bash
# Check a collection tarball as Galaxy's importer would.
#
#   bash tests/ci/galaxy_import.sh .build/dist/nbsync-proxmox-0.1.0.tar.gz     (make galaxy-import)
#
# galaxy-importer (PyPI) lives in a virtualenv of its own, .build/galaxy-importer-venv, made from
# the project's Python: its pins must not move the project's ansible-core/ansible-lint. It is
# configured by tests/ci/galaxy-importer.cfg (GALAXY_IMPORTER_CONFIG) to need neither docker nor
# podman nor any network: ansible-test is not run by it (its only local runner insists on
# --docker; tests/ci/sanity.sh runs ansible-test sanity), ansible-doc and ansible-lint
# (--offline, production profile) are.
#
# Fails when the importer fails the import or logs an ERROR. Its ansible-lint findings are
# WARNING lines, as on Galaxy; `make lint` is where lint findings fail the build.
# Set GALAXY_IMPORT_STRICT=1 to fail on any WARNING too.
set -euo pipefail

if [[ $# -ne 1 || ! -f "$1" ]]; then
  echo "usage: $0 TARBALL   (the file ansible-galaxy collection build wrote)" >&2
  exit 2
fi
TARBALL="$(cd "$(dirname "$1")" && pwd -P)/$(basename "$1")"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
cd "$ROOT"

BUILD="$ROOT/.build"
VENV="$BUILD/galaxy-importer-venv"
WORK="$BUILD/galaxy-import"
# Bump deliberately: a new importer release can bring new checks.
IMPORTER_VERSION=0.4.44
REQ="galaxy-importer==$IMPORTER_VERSION"

log() { printf '== galaxy_import.sh: %s (%ss)\n' "$*" "$SECONDS"; }

# The project's Python 3.12: .venv's (what `make` puts first on PATH), else python3.12.
PY="$ROOT/.venv/bin/python"
[[ -x "$PY" ]] || PY="$(command -v python3.12)"

if [[ ! -x "$VENV/bin/python" || "$(cat "$VENV/.installed" 2>/dev/null)" != "$REQ" ]]; then
  log "installing $REQ into ${VENV#"$ROOT"/}"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$REQ"
  echo "$REQ" > "$VENV/.installed"
fi

# Only the importer's own tools: nothing of the project's environment (the Makefile exports
# PYTHONPATH and ANSIBLE_COLLECTIONS_PATH pointing at the work tree; the importer must see the
# tarball's content only).
unset PYTHONPATH ANSIBLE_COLLECTIONS_PATH ANSIBLE_COLLECTIONS_SCAN_SYS_PATH ANSIBLE_CONFIG NBSYNC_PYTHON
export PATH="$VENV/bin:$PATH"
export GALAXY_IMPORTER_CONFIG="$ROOT/tests/ci/galaxy-importer.cfg"
rm -rf "$WORK"
mkdir -p "$WORK/tmp" "$WORK/ansible-tmp"
export GALAXY_IMPORTER_TMP_ROOT_DIR="$WORK/tmp" GALAXY_IMPORTER_ANSIBLE_LOCAL_TMP="$WORK/ansible-tmp"
cd "$WORK"   # importer_result.json is written to the working directory

log "galaxy-importer $IMPORTER_VERSION on ${TARBALL#"$ROOT"/}"
status=0
"$VENV/bin/python" -m galaxy_importer.main "$TARBALL" 2>&1 | tee "$WORK/importer.log" || status=$?
log "importer exited $status; result in ${WORK#"$ROOT"/}/importer_result.json"

errors="$(grep -c '^ERROR:' "$WORK/importer.log" || true)"
warnings="$(grep -c '^WARNING:' "$WORK/importer.log" || true)"
echo "galaxy-importer: $errors error(s), $warnings warning(s)"
if [[ "$status" -ne 0 || ! -s "$WORK/importer_result.json" ]]; then
  echo "galaxy_import.sh: FAILED: the importer did not import the collection" >&2
  exit 1
fi
if [[ "$errors" -ne 0 ]]; then
  echo "galaxy_import.sh: FAILED: the importer reported errors:" >&2
  grep '^ERROR:' "$WORK/importer.log" >&2
  exit 1
fi
if [[ "${GALAXY_IMPORT_STRICT:-0}" == 1 && "$warnings" -ne 0 ]]; then
  echo "galaxy_import.sh: FAILED (GALAXY_IMPORT_STRICT=1): the importer reported warnings" >&2
  exit 1
fi
