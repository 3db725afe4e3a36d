#!/bin/sh
# A user's own Postfix configuration (copied by the harness under /etc/mailharness-user/<dir>/), with the few
# overrides the harness needs (harness/byoc.py lists them for reports), checked by Postfix before it starts.
#   MH_USERS   local parts that need a Unix account     MH_ROUTES   other topology domains (smtp: routes)
# The files the configuration names outside its folder come under /etc/mailharness-files/<path>.
#   --mail-fs  only (re)make the delivery places on /var/mail (a restarted node's tmpfs starts empty)
set -u
cf=/etc/postfix
# Every place the configuration delivers to lives on the small file system at /var/mail (so that DiskFull fills
# the one actually delivered to): the mbox spool (mail_spool_directory), the homes (home_mailbox), the virtual
# mailbox base. A place elsewhere becomes a link into it; nothing is prepared in a shape the configuration does
# not use (local(8) and virtual(8) make the mbox files and Maildirs themselves).
into_mail_fs() {  # $1 a directory the configuration delivers under
  d=${1%/}
  case "$d" in ""|/var/mail) return ;; /var/mail/*) mkdir -p "$d"; chmod 1777 "$d"; return ;; esac
  t=/var/mail/.mh$(echo "$d" | tr / _)
  mkdir -p "$t" && chmod 1777 "$t"
  if [ -d "$d" ] && [ ! -L "$d" ]; then cp -a "$d"/. "$t"/ 2>/dev/null; rm -rf "$d"; fi
  mkdir -p "$(dirname "$d")" && ln -sfn "$t" "$d"
}
mail_fs() {
  into_mail_fs "$(postconf -xh mail_spool_directory 2>/dev/null)"
  into_mail_fs /home
  base=$(postconf -xh virtual_mailbox_base 2>/dev/null)
  [ -n "$base" ] && into_mail_fs "$base"
  for u in ${MH_USERS:-}; do
    h=$(getent passwd "$u" | cut -d: -f6)
    [ -n "$h" ] && mkdir -p "$h" && chown "$u:" "$h"
  done
}
start_standins() {
  rm -f /run/mh-standins.ready
  python3 /usr/local/bin/standins.py run >/dev/null 2>/run/mh-standins.err &
}
wait_standins() {  # bounded: 5 s, then whatever did not start is in /run/mh-standins.err
  i=0
  while [ ! -f /run/mh-standins.ready ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
  [ -f /run/mh-standins.ready ] || { echo "mailharness: stand-ins did not start:"; tail -n 5 /run/mh-standins.err; }
}
# virtual(8) makes a Maildir's directories, not an mbox file's: those exist on a real server (its admin made
# them), so the parent directories of the mbox files virtual_mailbox_maps names are made (after the tables).
virtual_mbox_dirs() {
  base=$(postconf -xh virtual_mailbox_base 2>/dev/null)
  [ -n "$base" ] || return 0
  for t in $(postconf -xh virtual_mailbox_maps 2>/dev/null | tr ', ' '\n\n' | grep ':'); do
    postmap -s "$t" 2>/dev/null | awk '$2 !~ /\/$/ {print $2}' | while read -r v; do
      d=$(dirname "$base/$v") && mkdir -p "$d" && chmod 1777 "$d"
    done
  done
}
if [ "${1:-}" = "--mail-fs" ]; then mail_fs; virtual_mbox_dirs; start_standins; wait_standins; exit 0; fi
src=$(ls -d /etc/mailharness-user/*/ | head -n 1)
cp -a "$src". $cf/
[ -d /etc/mailharness-files ] && cp -a /etc/mailharness-files/. /
uid=2000
for u in ${MH_USERS:-}; do
  if ! grep -q "^$u:" /etc/passwd; then
    echo "$u:x:$uid:$uid::/home/$u:/usr/sbin/nologin" >> /etc/passwd
    echo "$u:x:$uid:" >> /etc/group
  fi
  uid=$((uid + 1))
done
mail_fs
: > $cf/mh_transport
for r in ${MH_ROUTES:-}; do
  case "$r" in *=*) echo "${r%%=*} smtp:[${r#*=}]" ;; *) echo "$r smtp:" ;; esac >> $cf/mh_transport
done
outside="error:5.7.1 mailharness: domain outside the test topology, never delivered"
# The topology's routes first, then the configuration's own transport_maps (its lmtp:, local or pipe entries).
theirs=$(postconf -h transport_maps 2>/dev/null)
# What the harness changes in a user's configuration, and why: the "override:" lines are the list reports show
# (harness.mta.postfix.userconfig.overrides reads them; tests/test_overrides.py keeps them beside the commands).
# override: maillog_file = /dev/stdout | the mail log is the container's log, followed as events
# override: inet_interfaces = all, inet_protocols = ipv4 | listen on the topology's network (a configuration that listens on loopback only keeps its inet_interfaces: nothing outside the node may connect)
# override: queue_run_delay = 1s, minimal_backoff_time = 1s, maximal_backoff_time = 1s | retries in seconds, not minutes
# override: smtpd_error_sleep_time = 0 | no pause before error replies
# override: postscreen_greet_wait = 1s | postscreen's pregreet test holds each new client 1 s, not 6
# override: transport_maps = the topology's domains only; default_transport = relay_transport = error:5.7.1 | mail can never leave the topology (the network is internal as well); a relayhost the topology stands in for keeps default_transport: mail for the topology's domains goes to their nodes, all other mail to the stand-in
listen="inet_interfaces = all"
[ "${MH_LISTEN:-}" = loopback ] && listen="inet_interfaces = $(postconf -h inet_interfaces)"
default="default_transport = $outside"
[ -n "${MH_RELAYHOST:-}" ] && default="default_transport = $(postconf -h default_transport)"
postconf -e "maillog_file = /dev/stdout" "$listen" "inet_protocols = ipv4" \
  "queue_run_delay = 1s" "minimal_backoff_time = 1s" "maximal_backoff_time = 1s" "smtpd_error_sleep_time = 0" \
  "transport_maps = texthash:$cf/mh_transport${theirs:+, $theirs}" "$default" \
  "relay_transport = $outside" "postscreen_greet_wait = 1s"
# override: smtp_tls_loglevel = 1 where the configuration has 0 (its default) | the SMTP client logs each TLS session on a line of its own, which the story and the report read for every hop's TLS; nothing else changes
if [ "$(postconf -h smtp_tls_loglevel 2>/dev/null)" = 0 ]; then
  postconf -e "smtp_tls_loglevel = 1"
fi
# override: chroot = n for every service (master.cf) | no copies of resolv.conf in a chroot
postconf -F '*/*/chroot = n'
if [ -z "$(postconf -M postlog/unix-dgram 2>/dev/null)" ]; then
  postconf -M postlog/unix-dgram="postlog unix-dgram n - n - 1 postlogd"
fi
# override: indexed tables rebuilt with postmap/postalias | the .db files are built for this Postfix
aliases=$(postconf -xh alias_maps 2>/dev/null | tr ', ' '\n\n' | grep -E '^(hash|btree|lmdb|cdb):' | sort -u)
errors=""
for m in $aliases; do out=$(postalias "$m" 2>&1) || errors="$errors$out
"; done
for m in $(postconf -nx 2>/dev/null | grep -v '_cache_database = ' | grep -oE '(hash|btree|lmdb|cdb):[^ ,]+' | sort -u); do
  case " $aliases " in *" $m "*) continue ;; esac
  out=$(postmap "$m" 2>&1) || errors="$errors$out
"
done
if [ -n "$errors" ]; then
  echo "mailharness: configuration refused by Postfix (building its lookup tables):"
  printf '%s' "$errors"
  exit 1
fi
virtual_mbox_dirs
# Stand-ins for the services the configuration names on this host (milters, policy services, a content
# filter, Dovecot's LMTP): standins.py says which.
python3 /usr/local/bin/standins.py prepare
start_standins
touch -d '-1 min' $cf/* 2>/dev/null || true
mkdir -p $cf/baseline && cp -p $cf/main.cf $cf/master.cf $cf/baseline/ 2>/dev/null
if ! out=$(postfix check 2>&1); then
  echo "mailharness: configuration refused by Postfix (postfix check):"
  echo "$out"
  exit 1
fi
# Debian trixie's `postfix check` (Postfix 3.10) also copies resolv.conf and hosts into the queue directory and says
# so ("updating /etc/hosts => /var/spool/postfix//etc/hosts"), although nothing here runs chrooted: not a finding.
out=$(printf '%s\n' "$out" | grep -v '^updating /[^ ]* => /' || true)
[ -n "$out" ] && echo "$out"
wait_standins
exec /usr/lib/postfix/sbin/master -i
