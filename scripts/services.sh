#!/usr/bin/env bash
# Install redis-server and PostgreSQL with the system package manager when their binaries are
# missing and we may (root + apt-get). The tests start throwaway servers from these binaries
# when no server answers on the standard ports (tests/services.py).
set -uo pipefail
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} for the tests" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || \
    { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "${missing[@]}" >/dev/null 2>&1; } || \
    echo "could not install ${missing[*]}; the tests will say what is missing" >&2
else
  echo "missing ${missing[*]} (not root or no apt-get); the tests will say what is missing" >&2
fi
exit 0
