#!/usr/bin/env bash
# Installs the system packages the test suite runs for real (README "Set-up"): SoftHSM2 (PKCS#11
# token), etcd (record store cluster), Chromium (the web page's browser tests; driven by
# playwright-core, which downloads no browser of its own), age and restic (benchmark references),
# bsdutils' `script` and tmux (the CLI on a real terminal: prompts without echo, progress bars on
# screen), unzip (checks the zips the web page saves, independently of the library that wrote
# them), and a C++ tool chain for the native packages `npm ci` builds from source when no prebuilt
# binary can be fetched (better-sqlite3, pkcs11js, zstd-napi).
# Idempotent; needs root or sudo.
set -euo pipefail
packages=(softhsm2 etcd-server etcd-client age restic chromium unzip bsdutils tmux g++ make python3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Debian ships etcd-server with a systemd unit; the tests start their own members on loopback.
command -v etcd >/dev/null && command -v softhsm2-util >/dev/null
echo "test dependencies present: ${packages[*]}"
