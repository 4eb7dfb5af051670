#!/usr/bin/env bash
# Brings PostgreSQL 15's regression suite here, with a server, psql and pg_regress of exactly
# the same minor version, all from Debian's archive, cached in one folder this script owns.
#
# Why not the installed server: Debian's archive serves the binaries of the newest minor
# (bookworm-security) but not always its source, and a minor skew between the test sources
# and the server alone fails several tests directly. So the suite runs on its own server: the
# binary packages (postgresql-15, postgresql-client-15, libpq5, postgresql-server-dev-15) of
# the newest minor whose source Debian serves, unpacked (not installed) next to that source.
# The installed packages are left as they are.
#
# Usage: prepare.sh [CACHE_DIR]   (default: .cache/regress in the repository, or
#        /var/cache/pgward-regress when the postgres user cannot reach the repository)
# Env:   PGWARD_REGRESS_VERSION=15.18-0+deb12u1 pins a Debian version.
# Prints one JSON line describing the prepared tree (read by bench/regress/prepare.ts).
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
cache="${1:-$repo/.cache/regress}"
# The server runs as the postgres user and must reach the unpacked binaries and sources: when
# the repository sits where that user cannot pass (a clone under /root), cache elsewhere.
if [ -z "${1:-}" ] && [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 && ! runuser -u postgres -- test -x "$repo"; then
  cache=/var/cache/pgward-regress
fi
mkdir -p "$cache"
cache="$(cd "$cache" && pwd)"
# Downloads and unpacked trees: never committed.
[ -f "$cache/.gitignore" ] || echo '*' > "$cache/.gitignore"
log() { echo "regress: $*" >&2; }

# shellcheck disable=SC1091
. /etc/os-release
codename="${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}"

# --- a private apt configuration: our own lists, never the system's sources or lists --------
apt_dir="$cache/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
cat > "$apt_dir/sources.list" <<EOF
deb http://deb.debian.org/debian $codename main
deb-src http://deb.debian.org/debian $codename main
deb http://deb.debian.org/debian $codename-updates main
deb-src http://deb.debian.org/debian $codename-updates main
deb http://deb.debian.org/debian-security $codename-security main
deb-src http://deb.debian.org/debian-security $codename-security main
EOF
apt_opts=(
  -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
  -o "Dir::State::status=/var/lib/dpkg/status" -o "APT::Sandbox::User=root" -o "Debug::NoLocking=1"
)
# Refreshed at most once a day.
if [ -z "$(find "$apt_dir/lists" -maxdepth 1 -name '*_Sources*' -mmin -1440 2>/dev/null | head -1)" ]; then
  log "apt-get update (private lists under $apt_dir)"
  apt-get "${apt_opts[@]}" update -qq >&2
fi

# --- which version: pinned, else the newest whose source Debian serves ---------------------
dl="$cache/downloads"
mkdir -p "$dl"
fetch_source() { # $1 = Debian version; 0 when the .dsc and tarballs are here (hash-checked by apt)
  local v="$1" upstream="${1%%-*}"
  [ -f "$dl/postgresql-15_$upstream.orig.tar.bz2" ] && [ -f "$dl/postgresql-15_$v.dsc" ] && return 0
  (cd "$dl" && apt-get "${apt_opts[@]}" source -qq --download-only "postgresql-15=$v" >/dev/null 2>&1)
}
version="${PGWARD_REGRESS_VERSION:-}"
if [ -n "$version" ]; then
  fetch_source "$version" || { log "the source of postgresql-15 $version is not served by Debian's archive"; exit 1; }
else
  mapfile -t versions < <(apt-cache "${apt_opts[@]}" showsrc postgresql-15 | awk '/^Version:/{print $2}' | sort -u -r -V)
  [ ${#versions[@]} -gt 0 ] || { log "apt-cache showsrc postgresql-15 found no version"; exit 1; }
  for v in "${versions[@]}"; do
    if fetch_source "$v"; then version="$v"; break; fi
    log "postgresql-15 $v: source not served by the archive, trying an older minor"
  done
  [ -n "$version" ] || { log "no version of postgresql-15 has its source in the archive"; exit 1; }
fi
upstream="${version%%-*}"
tree="$cache/$version"
log "postgresql-15 $version"

find_deb() { # the downloaded .deb of $1 at $version, if any ('+' may be spelled %2b)
  local f
  for f in "$dl/${1}_${version}"_*.deb "$dl/${1}_${version//+/%2b}"_*.deb; do
    [ -f "$f" ] && { echo "$f"; return 0; }
  done
  return 0
}
if [ ! -f "$tree/.ready" ]; then
  rm -rf "$tree"
  mkdir -p "$tree/root" "$tree/src"
  # --- binaries of the same version, unpacked --------------------------------------------
  for pkg in postgresql-15 postgresql-client-15 libpq5 postgresql-server-dev-15; do
    deb="$(find_deb "$pkg")"
    if [ -z "$deb" ]; then
      (cd "$dl" && apt-get "${apt_opts[@]}" download -qq "$pkg=$version" >&2)
      deb="$(find_deb "$pkg")"
    fi
    [ -n "$deb" ] || { log "apt-get download $pkg=$version left no .deb"; exit 1; }
    dpkg-deb -x "$deb" "$tree/root"
  done
  need=()
  command -v gcc >/dev/null || need+=(gcc libc6-dev)
  command -v bzip2 >/dev/null || need+=(bzip2)
  if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then log "needed to build regress.so: sudo apt-get install ${need[*]}"; exit 1; fi
    log "installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "${need[@]}" >&2 \
      || { apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends "${need[@]}" >&2; }
  fi
  # --- the regression sources -----------------------------------------------------------
  tar -xjf "$dl/postgresql-15_$upstream.orig.tar.bz2" -C "$tree/src" --strip-components=1 \
    "postgresql-$upstream/src/test/regress" "postgresql-$upstream/contrib/spi"
  # --- regress.so against this version's server headers; autoinc/refint from its package --
  inc="$tree/root/usr/include/postgresql/15/server"
  mkdir -p "$tree/dlpath"
  gcc -O2 -fPIC -shared -Wall -Wno-unused-variable -I "$inc" \
    -o "$tree/dlpath/regress.so" "$tree/src/src/test/regress/regress.c"
  cp "$tree/root/usr/lib/postgresql/15/lib/autoinc.so" "$tree/root/usr/lib/postgresql/15/lib/refint.so" "$tree/dlpath/"
  chmod -R a+rX "$tree"
  touch "$tree/.ready"
fi

# The server runs as the postgres user: it reads data/ and dlpath/ and needs to pass through.
d="$tree"
while [ "$d" != "/" ]; do
  [ "$(( $(stat -c '%a' "$d" | sed 's/^.*\(.\)$/\1/') & 1 ))" = 1 ] || chmod o+x "$d"
  [ "$d" = "$repo" ] && break
  d="$(dirname "$d")"
done

libdir="$(dirname "$(find "$tree/root/usr/lib" -name 'libpq.so.5' | head -1)")"
printf '{"version":"%s","root":"%s","binDir":"%s","libDir":"%s","pgRegress":"%s","inputDir":"%s","schedule":"%s","dlpath":"%s"}\n' \
  "$version" "$tree/root" "$tree/root/usr/lib/postgresql/15/bin" "$libdir" \
  "$tree/root/usr/lib/postgresql/15/lib/pgxs/src/test/regress/pg_regress" "$tree/src/src/test/regress" \
  "$tree/src/src/test/regress/parallel_schedule" "$tree/dlpath"
