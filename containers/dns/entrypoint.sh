#!/bin/sh
# The SERVFAIL responder for DNS faults (127.0.0.1:5353, UDP and TCP), then dnsmasq in the foreground, logging each
# query. dnsmasq starts once the responder listens (at most 5 s later): a query may come as soon as dnsmasq is up.
rm -f /run/servfail.ready
python3 /usr/local/bin/servfail.py &
i=0
while [ ! -e /run/servfail.ready ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
exec dnsmasq --keep-in-foreground --log-facility=- --user=root "$@"
