#!/usr/bin/env bash
# Installs what `npm run test:unit` needs beyond node_modules, idempotently:
#   - Debian's neovim (0.7+): test/neovim drives its built-in LSP client headless
#     against the language server;
#   - Debian's etcd-server and postgresql: the real metadata stores the gateway
#     tests start on 127.0.0.1 with random ports and temporary data directories
#     (PostgreSQL as its own user, never as root);
#   - Debian's prometheus: promtool tests deploy/prometheus's alert rules, and a real
#     Prometheus scrapes a gateway (test/gateway/prometheus*.test.ts).
# Already installed, this is a few dpkg/PATH checks and takes milliseconds.
# Installing needs root (or sudo) and apt-get; where that is not possible this only
# warns, and the tests that need the missing program fail and say why.
#
# Usage: scripts/setup-test-deps.sh     (progress goes to stderr)
set -euo pipefail

log() { printf '[test deps] %s\n' "$*" >&2; }

# Debian package → the program the tests run from it.
declare -A program=([neovim]=nvim [etcd-server]=/usr/bin/etcd [postgresql]=/usr/lib/postgresql/15/bin/postgres [prometheus]=/usr/bin/promtool)
present() { command -v "${program[$1]}" >/dev/null 2>&1; }

missing=()
for p in "${!program[@]}"; do present "$p" || missing+=("$p"); done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  log "WARNING: not a Debian system: install ${missing[*]} yourself (or set NVIM_BIN for neovim), or the tests that need them fail"
  exit 0
fi
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if ! command -v sudo >/dev/null 2>&1 || ! sudo -n true 2>/dev/null; then
    log "WARNING: ${missing[*]} missing, and installing needs root: sudo apt-get install ${missing[*]} (until then the tests that need them fail)"
    exit 0
  fi
  sudo=(sudo -n)
fi

# Concurrent test runs on one machine: one installer at a time (apt's own lock would fail the others).
lock_dir="${TMPDIR:-/tmp}"
exec 9>"$lock_dir/cluster-debugger-test-deps.lock"
flock 9
still=()
for p in "${missing[@]}"; do present "$p" || still+=("$p"); done # installed by the run we waited for?
[[ ${#still[@]} -eq 0 ]] && exit 0

started=$SECONDS
log "installing Debian packages: ${still[*]} (apt-get update first)"
export DEBIAN_FRONTEND=noninteractive
apt_log="$lock_dir/cluster-debugger-test-deps.apt.log"
"${sudo[@]}" apt-get update -qq >"$apt_log" 2>&1 || { tail -n 20 "$apt_log" >&2; log "ERROR: apt-get update failed (log: $apt_log)"; exit 1; }
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${still[@]}" >>"$apt_log" 2>&1 \
  || { tail -n 20 "$apt_log" >&2; log "ERROR: apt-get install ${still[*]} failed (log: $apt_log)"; exit 1; }
# Debian starts a machine-wide PostgreSQL, etcd and Prometheus on install; the tests run their own.
for unit in postgresql etcd prometheus prometheus-node-exporter; do "${sudo[@]}" service "$unit" stop >/dev/null 2>&1 || true; done
for p in "${still[@]}"; do present "$p" || { log "ERROR: ${program[$p]} is missing after installing $p"; exit 1; }; done
log "installed ${still[*]} in $((SECONDS - started)) s"
