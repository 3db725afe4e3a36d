#!/bin/sh
# The topology's DNS server (zone.py). The harness gives the first table as the only argument; it replaces the
# file whole (a rename) to change the answers, which zone.py reads again at the next query.
set -e
mkdir -p /run/mailharness
printf '%s' "$1" > /run/mailharness/zone.json
exec python3 -u /usr/local/bin/zone.py --table /run/mailharness/zone.json
