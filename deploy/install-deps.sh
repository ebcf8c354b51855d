#!/usr/bin/env bash
# deploy/install-deps.sh: installs the Debian 12 packages expd needs to build,
# test and run, but only the ones that are missing (checked with dpkg-query), then
# the Python venv var/venv with deploy/requirements.txt (pip runs only when that
# file changed). Idempotent and non-interactive; uses sudo only when not root.
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "$0")/lib.sh"

PACKAGES=(
  build-essential cmake pkg-config ccache
  clang libclang-rt-14-dev llvm
  libcaf-dev libprotobuf-dev protobuf-compiler libpqxx-dev libhiredis-dev
  libhttp-parser-dev nlohmann-json3-dev libyaml-cpp-dev libxxhash-dev libboost-dev
  libcurl4-openssl-dev libssl-dev libzstd-dev zstd libsimdjson-dev libre2-dev libicu-dev googletest libgtest-dev libbenchmark-dev
  postgresql redis-server nginx-light wrk curl time
  python3 python3-venv python3-xxhash python3-numpy python3-scipy python3-statsmodels python3-botocore
  libjs-chart.js chromium
  libtorch-dev libgloo-dev python3-torch libsentencepiece-dev sentencepiece python3-sentencepiece
)

install_system_packages() {
  say "checking system packages"
  command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script supports Debian 12 (bookworm) only"

  missing=()
  for p in "${PACKAGES[@]}"; do
    status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
    [ "$status" = "install ok installed" ] || missing+=("$p")
  done

  if [ "${#missing[@]}" -eq 0 ]; then
    note "all ${#PACKAGES[@]} packages already installed"
    return 0
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
}

# Python tools (moto's S3 server, the MLflow server) live in var/venv, built on Debian's
# interpreter, never on a python3 that happens to be first on PATH. Its pyarrow wheel is
# also the Arrow C++ library CMake builds against (cmake/FindArrowWheel.cmake), so this
# runs before deploy/build.sh configures.
install_python_venv() {
  local venv="$VAR/venv" req="$ROOT/deploy/requirements.txt" stamp want
  stamp="$venv/.requirements.sha256"
  say "checking the Python venv (var/venv)"
  [ -x /usr/bin/python3 ] || die "/usr/bin/python3 not found; install python3"
  if [ ! -x "$venv/bin/python" ]; then
    note "creating var/venv"
    mkdir -p "$VAR"
    /usr/bin/python3 -m venv "$venv" || die "/usr/bin/python3 -m venv $venv failed (is python3-venv installed?)"
  fi
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    note "deploy/requirements.txt already installed"
    return 0
  fi
  note "pip install -r deploy/requirements.txt"
  "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req" \
    || die "pip install -r deploy/requirements.txt failed (network or PyPI problem?)"
  echo "$want" >"$stamp"
  note "installed: $(grep -Ev '^(#|$)' "$req" | tr '\n' ' ')"
}

install_system_packages
install_python_venv
