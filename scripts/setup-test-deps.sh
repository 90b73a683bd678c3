#!/usr/bin/env bash
# Installs what `npm run test:unit` needs beyond node_modules, idempotently:
#   - Debian's neovim (0.7+): test/neovim drives its built-in LSP client headless
#     against the language server.
# Already installed, this is a dpkg/PATH check and takes a few milliseconds.
# Installing needs root (or sudo) and apt-get; where that is not possible this only
# warns, and the Neovim test then fails and says why.
#
# Usage: scripts/setup-test-deps.sh     (progress goes to stderr)
set -euo pipefail

apt_packages=(neovim)
log() { printf '[test deps] %s\n' "$*" >&2; }

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

if command -v nvim >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
  log "WARNING: nvim is not on PATH and this is not a Debian system: install Neovim 0.7+ yourself (or set NVIM_BIN), or the Neovim test fails"
  exit 0
fi
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if ! command -v sudo >/dev/null 2>&1 || ! sudo -n true 2>/dev/null; then
    log "WARNING: nvim is missing and installing it needs root: sudo apt-get install neovim (until then the Neovim test fails)"
    exit 0
  fi
  sudo=(sudo -n)
fi

missing=()
for p in "${apt_packages[@]}"; do installed "$p" || missing+=("$p"); done
if [[ ${#missing[@]} -eq 0 ]]; then
  log "WARNING: ${apt_packages[*]} is installed but nvim is not on PATH"
  exit 0
fi

# Concurrent test runs on one machine: one installer at a time (apt's own lock would fail the others).
lock_dir="${TMPDIR:-/tmp}"
exec 9>"$lock_dir/cluster-debugger-test-deps.lock"
flock 9
command -v nvim >/dev/null 2>&1 && exit 0 # installed by the run we waited for

started=$SECONDS
log "installing Debian packages: ${missing[*]} (apt-get update first)"
export DEBIAN_FRONTEND=noninteractive
apt_log="$lock_dir/cluster-debugger-test-deps.apt.log"
"${sudo[@]}" apt-get update -qq >"$apt_log" 2>&1 || { tail -n 20 "$apt_log" >&2; log "ERROR: apt-get update failed (log: $apt_log)"; exit 1; }
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$apt_log" 2>&1 \
  || { tail -n 20 "$apt_log" >&2; log "ERROR: apt-get install ${missing[*]} failed (log: $apt_log)"; exit 1; }
command -v nvim >/dev/null 2>&1 || { log "ERROR: nvim is not on PATH after installing neovim"; exit 1; }
log "installed ${missing[*]} in $((SECONDS - started)) s: $(nvim --version | head -n 1)"
