#!/bin/sh
# A user's own Postfix configuration (copied by the harness under /etc/mailharness-user/<dir>/), with the few
# overrides the harness needs (harness/byoc.py lists them for reports), checked by Postfix before it starts.
#   MH_USERS   local parts that need a Unix account     MH_ROUTES   other topology domains (smtp: routes)
set -u
cf=/etc/postfix
src=$(ls -d /etc/mailharness-user/*/ | head -n 1)
cp -a "$src". $cf/
uid=2000
for u in ${MH_USERS:-}; do
  if ! grep -q "^$u:" /etc/passwd; then
    echo "$u:x:$uid:$uid::/var/mail/$u:/usr/sbin/nologin" >> /etc/passwd
    echo "$u:x:$uid:" >> /etc/group
  fi
  mkdir -p /var/mail/$u && chown "$u:$u" /var/mail/$u
  uid=$((uid + 1))
done
: > $cf/mh_transport
for r in ${MH_ROUTES:-}; do
  case "$r" in *=*) echo "${r%%=*} smtp:[${r#*=}]" ;; *) echo "$r smtp:" ;; esac >> $cf/mh_transport
done
outside="error:5.7.1 mailharness: domain outside the test topology, never delivered"
postconf -e "maillog_file = /dev/stdout" "inet_interfaces = all" "inet_protocols = ipv4" \
  "queue_run_delay = 1s" "minimal_backoff_time = 1s" "maximal_backoff_time = 2s" "smtpd_error_sleep_time = 0" \
  "transport_maps = texthash:$cf/mh_transport" "default_transport = $outside" "relay_transport = $outside"
postconf -F '*/*/chroot = n'
if [ -z "$(postconf -M postlog/unix-dgram 2>/dev/null)" ]; then
  postconf -M postlog/unix-dgram="postlog unix-dgram n - n - 1 postlogd"
fi
aliases=$(postconf -xh alias_maps 2>/dev/null | tr ', ' '\n\n' | grep -E '^(hash|btree|lmdb|cdb):' | sort -u)
errors=""
for m in $aliases; do out=$(postalias "$m" 2>&1) || errors="$errors$out
"; done
for m in $(postconf -nx 2>/dev/null | grep -oE '(hash|btree|lmdb|cdb):[^ ,]+' | sort -u); do
  case " $aliases " in *" $m "*) continue ;; esac
  out=$(postmap "$m" 2>&1) || errors="$errors$out
"
done
if [ -n "$errors" ]; then
  echo "mailharness: configuration refused by Postfix (building its lookup tables):"
  printf '%s' "$errors"
  exit 1
fi
touch -d '-1 min' $cf/* 2>/dev/null || true
mkdir -p $cf/baseline && cp -p $cf/main.cf $cf/master.cf $cf/baseline/ 2>/dev/null
if ! out=$(postfix check 2>&1); then
  echo "mailharness: configuration refused by Postfix (postfix check):"
  echo "$out"
  exit 1
fi
[ -n "$out" ] && echo "$out"
exec /usr/lib/postfix/sbin/master -i
