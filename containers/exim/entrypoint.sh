#!/bin/sh
# Configure this node from the environment the harness gives it (the same as a Postfix node's), check the
# configuration with Exim itself, then run Exim's daemon under mh-run.py (PID 1: it copies the logs to the
# container's output).
#   MH_HOSTNAME       mx.library.example
#   MH_DOMAIN         library.example
#   MH_USERS          "jill postmaster"        local mailboxes
#   MH_ROUTES         "store.example example.edu corp.example=backend.corp.example"   other topology domains:
#                     delivered over SMTP by MX, or to the host after "="
#   MH_NETWORKS       "10.1.2.0/24"            networks allowed to relay (the topology's own)
#   MH_DNS            the topology's DNS server address
#   MH_LOCAL_DOMAINS  more domains whose mail this node delivers into its mailboxes (NodeSpec.other_domains)
#   MH_RELAY_DOMAINS  domains this node relays to from any client (other_domains with a route: a gateway's)
#   MH_USER_CONFIG    set: run the user's configuration (copied under /etc/mailharness-user/<dir>/) in place of the
#                     harness's, with the harness's overrides (user-config.py); its accounts' homes are /home/USER
set -eu
mh=/etc/exim4/mh
logs=/var/log/exim4
# Ask the topology's DNS directly: Docker's embedded resolver would answer PTR queries with container names.
if [ -n "${MH_DNS:-}" ]; then echo "nameserver ${MH_DNS}" > /etc/resolv.conf; fi
# The logs start empty (a restarted container keeps its files, whose lines are in the container's output already).
for f in mainlog rejectlog paniclog stderr; do : > $logs/$f; done
chown Debian-exim:adm $logs/mainlog $logs/rejectlog $logs/paniclog
chmod 640 $logs/mainlog $logs/rejectlog $logs/paniclog
: > $logs/mh-sync

mailboxes() {
  if [ -n "${MH_USER_CONFIG:-}" ]; then
    # The user's configuration makes its own mailboxes (an mbox file in /var/mail, a Maildir in a home...): only
    # the homes are made, on the mail file system (DiskFull fills the one Exim delivers to). /var/mail is the
    # spool both ways of writing it expect: sticky and open to all (Exim's default configure delivers as the user)
    # and of group mail, setgid (Debian's `group = mail`).
    chgrp mail /var/mail && chmod 3777 /var/mail
    mkdir -p /var/mail/.mh-home && chmod 1777 /var/mail/.mh-home
    [ -L /home ] || { rm -rf /home && ln -s /var/mail/.mh-home /home; }
    for u in ${MH_USERS}; do mkdir -p "/home/$u" && chown "$u:$u" "/home/$u"; done
    return
  fi
  for u in ${MH_USERS}; do
    mkdir -p /var/mail/$u/new /var/mail/$u/cur /var/mail/$u/tmp && chown -R "$u:$u" /var/mail/$u
  done
}

if [ -f $mh/baseline/node.conf ]; then
  # A restart (e.g. a next-hop-down fault healed): the first start configured this node; back to its baseline,
  # and the mailboxes' tmpfs starts empty again.
  /usr/local/bin/reset.sh --files
  mailboxes
else
  mkdir -p $mh/baseline
  # Exim macros: the node's identity (the configure names them).
  {
    echo "MH_HOSTNAME = ${MH_HOSTNAME}"
    echo "MH_DOMAIN = ${MH_DOMAIN}"
    echo "MH_NETWORKS = ${MH_NETWORKS:-127.0.0.1/32}"
  } > $mh/node.conf
  : > $mh/settings
  { echo "${MH_DOMAIN}:"; echo "${MH_HOSTNAME}:"; echo "localhost:"
    for d in ${MH_LOCAL_DOMAINS:-}; do echo "$d:"; done; } > $mh/local_domains
  : > $mh/relay_domains
  for d in ${MH_RELAY_DOMAINS:-}; do echo "$d:" >> $mh/relay_domains; done
  : > $mh/routes
  for r in ${MH_ROUTES:-}; do
    # "domain" goes by its MX; "domain=host" straight to that host (a backend behind this gateway)
    case "$r" in *=*) echo "${r%%=*}: ${r#*=}" ;; *) echo "$r:" ;; esac >> $mh/routes
  done
  : > $mh/users
  for f in aliases virtual refuse refuse_data quota; do : > $mh/$f; done
  uid=2000
  home=/var/mail
  [ -n "${MH_USER_CONFIG:-}" ] && home=/home
  for u in ${MH_USERS}; do
    echo "$u" >> $mh/users
    if ! grep -q "^$u:" /etc/passwd; then
      echo "$u:x:$uid:$uid::$home/$u:/usr/sbin/nologin" >> /etc/passwd
      echo "$u:x:$uid:" >> /etc/group
    fi
    uid=$((uid + 1))
  done
  mailboxes
  chmod 644 $mh/*
  cp -p $mh/* $mh/baseline/ 2>/dev/null || true
  if [ -n "${MH_USER_CONFIG:-}" ]; then
    # The user's configuration as the running one (and the baseline reset.sh restores), with the harness's
    # overrides; a refusal stops here, in Exim's words.
    python3 /usr/local/bin/user-config.py "$(ls -d /etc/mailharness-user/*/ | head -n 1)" || exit 1
  fi
fi

# A broken configuration stops here, in Exim's own words (the harness reports them: ConfigRefused).
# (exim -bV prints its version on stdout, a configuration error on stderr.)
if ! out=$(/usr/sbin/exim4 -bV 2>&1 >/dev/null); then
  echo "mailharness: configuration refused by Exim (exim -bV):"
  printf '%s\n' "$out" | grep -v '^$' | tail -n 20
  exit 1
fi
exec python3 /usr/local/bin/mh-run.py /usr/sbin/exim4 -bdf -q1s
