# Sourced by scripts/run and scripts/test: installs what is missing, quickly the
# second time. Leaves the virtualenv active and bun on PATH.
#   .venv/          Python 3.11 virtualenv with requirements.txt (re-synced when it changes)
#   .tools/         bun from the npm registry, when no bun >= 1.4.4 is on PATH
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

export REFLEX_TELEMETRY_ENABLED=false REFLEX_CHECK_LATEST_VERSION=false
export PIP_DISABLE_PIP_VERSION_CHECK=1

log() { printf '[setup] %s\n' "$*" >&2; }

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  log "creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
want="$(sha256sum requirements.txt | cut -d' ' -f1)"
if [ "$(cat .venv/.requirements.sha 2>/dev/null)" != "$want" ]; then
  log "installing requirements.txt"
  python -m pip install -q --upgrade pip
  python -m pip install -q -r requirements.txt
  echo "$want" > .venv/.requirements.sha
fi

BUN_VERSION=1.4.4
bun_ok() {
  local v
  v="$(bun --version 2>/dev/null)" || return 1
  [ "$(printf '%s\n%s\n' "$BUN_VERSION" "$v" | sort -V | head -n1)" = "$BUN_VERSION" ]
}
export PATH="$ROOT/.tools/node_modules/.bin:$PATH"
if ! bun_ok; then
  log "installing bun@$BUN_VERSION into .tools/ from the npm registry"
  npm install --silent --no-audit --no-fund --prefix "$ROOT/.tools" "bun@$BUN_VERSION" >&2
  bun_ok || { log "bun is still missing after npm install"; exit 1; }
fi
