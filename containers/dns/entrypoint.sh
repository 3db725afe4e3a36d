#!/bin/sh
# The topology's DNS server (zone.py). The harness gives the first table as the only argument; it replaces the
# file whole (a rename) to change the answers, which zone.py reads again at the next query.
# Beside it, on the same address, the man in the middle of StripStartTLS (mitm.py): it listens on no port until the
# harness writes its routes and sends it SIGHUP (harness.nodes.dns); its pid is in /run/mailharness/mitm.pid.
set -e
mkdir -p /run/mailharness
printf '%s' "$1" > /run/mailharness/zone.json
python3 -u /usr/local/bin/mitm.py --routes /run/mailharness/mitm.json --ack /run/mailharness/mitm.ack &
echo $! > /run/mailharness/mitm.pid
exec python3 -u /usr/local/bin/zone.py --table /run/mailharness/zone.json
