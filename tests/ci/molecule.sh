#!/usr/bin/env bash
# Run `molecule test` for every role scenario of the collection against the running lab.
#
#   PATH=.venv/bin:$PATH bash tests/ci/molecule.sh [SCENARIO...]      (make molecule; needs make lab-up)
#
# The scenarios are in extensions/molecule/<role>/ (molecule's layout for collections: run from the
# collection root, next to galaxy.yml). Each uses the default driver unmanaged: no instances, the
# playbooks run on localhost against the lab described by .lab/lab.json ($NBSYNC_LAB_DIR). Each
# scenario runs on its own; the script goes on after a failed one and exits non-zero if any failed.
#
# Molecule prints ansible's output. The lab's secrets must not be in it: the whole output is kept in
# .build/molecule/<scenario>.log and searched for every secret of lab.json; a hit fails the run (the
# name of the secret is printed, never its value).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
cd "$ROOT" || exit 2

VENV="$ROOT/.venv"
COLLECTIONS="$ROOT/.build/collections"
LINK="$COLLECTIONS/ansible_collections/nbsync/proxmox"
LOGS="$ROOT/.build/molecule"
export NBSYNC_LAB_DIR="${NBSYNC_LAB_DIR:-$ROOT/.lab}"
export PATH="$VENV/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS"
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
export PYTHONPATH="$COLLECTIONS"
export ANSIBLE_PYTHON_INTERPRETER="$VENV/bin/python"
export ANSIBLE_NOCOLOR=1
export NO_COLOR=1
# the molecule scenarios of this collection only (not a MOLECULE_GLOB from the caller's shell)
unset MOLECULE_GLOB

if [[ ! -x "$VENV/bin/molecule" ]]; then
  echo "ERROR: molecule is not installed in $VENV (make venv installs requirements-test.txt)" >&2
  exit 2
fi
if [[ ! -f "$NBSYNC_LAB_DIR/lab.json" ]]; then
  echo "ERROR: the lab is not up: $NBSYNC_LAB_DIR/lab.json is missing (make lab-up)" >&2
  exit 2
fi
if [[ ! -e "$LINK" ]]; then
  mkdir -p "$(dirname "$LINK")"
  ln -sfn "$ROOT" "$LINK"
fi
mkdir -p "$LOGS"

if [[ $# -gt 0 ]]; then
  SCENARIOS=("$@")
else
  SCENARIOS=()
  for file in extensions/molecule/*/molecule.yml; do
    [[ -f "$file" ]] && SCENARIOS+=("$(basename "$(dirname "$file")")")
  done
fi
if [[ ${#SCENARIOS[@]} -eq 0 ]]; then
  echo "ERROR: no scenario in extensions/molecule/*/molecule.yml" >&2
  exit 2
fi

# Exit 1 and name the secret when one of lab.json's secrets is in the log file $1.
check_no_secrets() {
  "$VENV/bin/python" - "$NBSYNC_LAB_DIR/lab.json" "$1" <<'PY'
import json
import sys

SECRET_WORDS = ('secret', 'token', 'password')


def secrets(node, path=''):
    if isinstance(node, dict):
        for key, value in node.items():
            here = path + '.' + key
            if isinstance(value, str) and any(w in key.lower() for w in SECRET_WORDS) and 'token_id' not in key \
                    and len(value) >= 8:
                yield here, value
            else:
                for found in secrets(value, here):
                    yield found


with open(sys.argv[1]) as handle:
    lab = json.load(handle)
with open(sys.argv[2], errors='replace') as handle:
    log = handle.read()
leaked = sorted(set(path for path, value in secrets(lab) if value in log))
if leaked:
    print('ERROR: secrets of lab.json in the molecule output {0}: {1}'.format(sys.argv[2], ', '.join(leaked)))
    sys.exit(1)
PY
}

failed=()
for scenario in "${SCENARIOS[@]}"; do
  log="$LOGS/$scenario.log"
  echo "=== molecule test -s $scenario   (log: ${log#"$ROOT"/})"
  start=$SECONDS
  molecule test -s "$scenario" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  if ! check_no_secrets "$log"; then
    rc=1
  fi
  echo "=== $scenario: $([[ $rc -eq 0 ]] && echo passed || echo "FAILED (exit $rc)") in $((SECONDS - start))s"
  [[ $rc -eq 0 ]] || failed+=("$scenario")
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "molecule: failed scenario(s): ${failed[*]}" >&2
  exit 1
fi
echo "molecule: ${#SCENARIOS[@]} scenario(s) passed"
