#!/usr/bin/env bash
# deploy/install-deps.sh: installs the Debian 12 packages expd needs to build,
# test and run, but only the ones that are missing (checked with dpkg-query).
# Idempotent and non-interactive; uses sudo only when not root.
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "$0")/lib.sh"

PACKAGES=(
  build-essential cmake pkg-config ccache
  libcaf-dev libprotobuf-dev protobuf-compiler libpqxx-dev libhiredis-dev
  libhttp-parser-dev nlohmann-json3-dev libyaml-cpp-dev libxxhash-dev
  libcurl4-openssl-dev libssl-dev googletest libgtest-dev libbenchmark-dev
  postgresql redis-server nginx-light wrk curl
  python3 python3-xxhash python3-scipy python3-botocore
)

say "checking system packages"
command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script supports Debian 12 (bookworm) only"

missing=()
for p in "${PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
  note "all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

note "missing: ${missing[*]}"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    # Without a terminal (CI) sudo must not wait for a password prompt.
    if [ -t 0 ]; then SUDO=(sudo); else SUDO=(sudo -n); fi
  else
    die "not root and sudo is not installed; as root run: apt-get install ${missing[*]}"
  fi
fi

export DEBIAN_FRONTEND=noninteractive
say "apt-get update"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q \
  || die "apt-get update failed (network or apt sources problem?)"
say "installing ${#missing[@]} package(s)"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
  --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
  "${missing[@]}" \
  || die "apt-get install failed for: ${missing[*]}"

# Double-check that everything really got installed.
still=()
for p in "${missing[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
  [ "$status" = "install ok installed" ] || still+=("$p")
done
[ "${#still[@]}" -eq 0 ] || die "still not installed after apt-get: ${still[*]}"
note "installed: ${missing[*]}"
