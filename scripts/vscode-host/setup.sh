#!/usr/bin/env bash
# Installs what the real-VS-Code tests need, idempotently and cached:
#   - Debian packages: chromium (the browser playwright-core drives), ripgrep
#     (seeds @vscode/ripgrep, which would otherwise download rg from GitHub),
#     libkrb5-dev + build-essential + python3 (code-server's native modules);
#   - code-server 4.100.3 (VS Code 1.100.3, the last that runs on Node 20), pinned by
#     this folder's package.json + package-lock.json, installed with `npm ci` into
#     .cache/vscode-host/code-server/.
# A second run is a stamp check and takes well under a second.
# Why it is done this way: docs/vscode-host.md, "Installing code-server".
#
# Usage: scripts/vscode-host/setup.sh [--force]
# Progress goes to stderr. The binary is .cache/vscode-host/code-server/node_modules/.bin/code-server.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="$root/.cache/vscode-host"
install_dir="$cache/code-server"
stamp="$install_dir/.setup-stamp"
code_server="$install_dir/node_modules/.bin/code-server"
apt_packages=(chromium ripgrep libkrb5-dev build-essential python3)
force=false
[[ "${1:-}" == "--force" ]] && force=true

log() { printf '[vscode-host setup] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
started=$SECONDS

# The stamp is keyed by what decides what gets installed: the lock file, and the recipe
# below. Bump `recipe` when the install steps change, so that every cache reinstalls.
recipe=1
key="$( (cat "$here/package-lock.json" "$here/package.json"; echo "recipe=$recipe") | sha256sum | cut -d' ' -f1)"

missing_apt_packages() {
  local p
  for p in "${apt_packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      printf '%s\n' "$p"
    fi
  done
}

command -v dpkg-query >/dev/null || die "this setup installs Debian packages with apt-get and dpkg; on another system install Chromium at /usr/bin/chromium and ripgrep, then code-server with: cd $cache/code-server && npm ci"
mkdir -p "$cache"
# Several engineers (and CI steps) may run the suites at once: one installer at a time.
exec 9>"$cache/.setup.lock"
flock 9

missing=()
mapfile -t missing < <(missing_apt_packages)
if ! $force && [[ ${#missing[@]} -eq 0 && -x "$code_server" && -f "$stamp" && "$(cat "$stamp")" == "$key" ]]; then
  log "up to date (code-server 4.100.3, chromium, ripgrep) — nothing to do"
  exit 0
fi

# --- Debian packages --------------------------------------------------------------
if [[ ${#missing[@]} -gt 0 ]]; then
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || die "need root (or sudo) to install Debian packages: ${missing[*]}"
    sudo=(sudo)
  fi
  log "installing Debian packages: ${missing[*]} (apt-get update first)"
  export DEBIAN_FRONTEND=noninteractive
  apt_log="$cache/apt.log"
  "${sudo[@]}" apt-get update -qq >"$apt_log" 2>&1 || { tail -n 20 "$apt_log" >&2; die "apt-get update failed (log: $apt_log)"; }
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$apt_log" 2>&1 \
    || { tail -n 20 "$apt_log" >&2; die "apt-get install ${missing[*]} failed (log: $apt_log)"; }
  log "Debian packages installed ($((SECONDS - started)) s)"
else
  log "Debian packages already installed: ${apt_packages[*]}"
fi
[[ -x /usr/bin/chromium ]] || die "/usr/bin/chromium is missing after installing the chromium package"
[[ -x /usr/bin/rg ]] || die "/usr/bin/rg is missing after installing the ripgrep package"

# --- code-server ----------------------------------------------------------------------
log "installing code-server 4.100.3 into ${install_dir#"$root"/} (about 70 s and 300 MB; cached afterwards)"
rm -f "$stamp"
mkdir -p "$install_dir"
cp "$here/package.json" "$here/package-lock.json" "$install_dir/"

# Its install writes into $TMPDIR and ~/.cache; keep both inside the cache folder.
install_tmp="$cache/tmp"
mkdir -p "$install_tmp"

# @vscode/ripgrep's postinstall downloads rg from GitHub (no internet here) unless a
# cached release tarball is in $TMPDIR. Seed it with Debian's rg at the archive root.
rg_version=1.15.11          # the @vscode/ripgrep that VS Code 1.100.3 pins
rg_release=v13.0.0-10       # the rg release that version downloads
rg_cache="$install_tmp/vscode-ripgrep-cache-$rg_version"
rg_tarball="$rg_cache/ripgrep-$rg_release-$(uname -m)-unknown-linux-musl.tar.gz"
if [[ ! -f "$rg_tarball" ]]; then
  mkdir -p "$rg_cache"
  tar -czf "$rg_tarball" -C /usr/bin rg
  log "seeded the ripgrep download cache from /usr/bin/rg"
fi

(
  cd "$install_dir"
  export TMPDIR="$install_tmp"
  export npm_config_unsafe_perm=true                   # we may be root; its postinstall refuses otherwise
  export npm_config_yes=true                           # node-pty's postinstall runs `npx node-gyp`
  export npm_config_dangerously_allow_all_scripts=true # npm 11.19 would hold back native-module scripts
  export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
  # A plain local install (not -g / --prefix): under npm 11 the nested install in
  # lib/vscode would otherwise turn global and overwrite the package.
  npm ci --no-audit --no-fund --loglevel=error >&2
) || die "npm ci of code-server failed (see above). Retry with: $0 --force"

[[ -x "$code_server" ]] || die "npm ci finished but $code_server is missing"
# --version writes a default config file under $XDG_CONFIG_HOME: keep it in the cache.
version="$(XDG_CONFIG_HOME="$install_tmp" XDG_DATA_HOME="$install_tmp" "$code_server" --version 2>/dev/null \
  | grep -m1 '^[0-9]' || true)"
[[ "$version" == 4.100.3* ]] || die "code-server --version printed '$version', expected 4.100.3"
printf '%s' "$key" > "$stamp"
log "done in $((SECONDS - started)) s: $code_server ($version)"
