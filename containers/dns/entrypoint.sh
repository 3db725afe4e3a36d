#!/bin/sh
# The SERVFAIL responder for DNS faults (127.0.0.1:5353), then dnsmasq in the foreground, logging each query.
python3 /usr/local/bin/servfail.py &
exec dnsmasq --keep-in-foreground --log-facility=- --user=root "$@"
