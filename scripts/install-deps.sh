#!/usr/bin/env bash
# Installs the build and test dependencies from Debian 12 packages. Idempotent: it installs only
# what is missing, so `make test` on a prepared machine does not touch apt at all.
set -euo pipefail

packages=(
  build-essential cmake ccache git
  libcaf-dev            # C++ Actor Framework 0.17.6
  librocksdb-dev        # RocksDB 7.8
  libboost-dev          # Boost 1.74: Asio, Beast (header-only)
  libcereal-dev         # record encoding
  doctest-dev           # unit tests
  libssl-dev            # PBKDF2, SHA-256, random tokens, TLS later
  nlohmann-json3-dev    # JSON (Boost 1.74 has no Boost.JSON)
  libcli11-dev          # command lines
  libxxhash-dev         # xxh3 checksums
  libedit-dev           # console line editing and history (BSD licence, unlike GNU readline)
  libjemalloc-dev       # the allocator of librarian-node, -sim and -bench (RocksDB recommends it)
  curl                  # integration tests talk HTTP to real nodes
  python3               # integration test drivers
  globus-gridftp-server-progs  # GridFTP interop tests: the reference server
  globus-gass-copy-progs       # GridFTP interop tests: globus-url-copy
  clang libclang-rt-14-dev     # libFuzzer targets (tests/fuzz)
  iperf3                       # librarian-bench transfer: the loopback ceiling
  postgresql-15 libpq-dev      # librarian-bench mcs and rls: the PostgreSQL 15 they compare against
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
