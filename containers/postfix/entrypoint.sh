#!/bin/sh
# Configure this node from the environment the harness gives it, then run Postfix in the foreground.
#   MH_HOSTNAME      mx.library.example
#   MH_DOMAIN        library.example
#   MH_USERS         "jill postmaster"        local mailboxes
#   MH_ROUTES        "store.example example.edu corp.example=backend.corp.example"   other topology domains:
#                    delivered over SMTP by MX, or to the host after "="
#   MH_NETWORKS      "10.1.2.0/24"            networks allowed to relay (the topology's own)
#   MH_DNS           the topology's DNS server address
#   MH_MAIN_CF       extra main.cf lines (newline-separated), applied last
set -eu
cf=/etc/postfix
# Ask the topology's DNS directly: Docker's embedded resolver would answer PTR queries with container names.
if [ -n "${MH_DNS:-}" ]; then echo "nameserver ${MH_DNS}" > /etc/resolv.conf; fi
if [ -f $cf/baseline/main.cf ]; then
  # A restart (e.g. a next-hop-down fault healed): the first start already configured this node, but the
  # mailboxes' tmpfs starts empty again.
  if [ -n "${MH_USER_CONFIG:-}" ]; then
    /usr/local/bin/user-config.sh --mail-fs
  else
    for u in ${MH_USERS}; do
      mkdir -p /var/mail/$u/new /var/mail/$u/cur /var/mail/$u/tmp && chown -R "$u:$u" /var/mail/$u
    done
  fi
  cp -p $cf/baseline/* $cf/
  touch -d '-1 min' $cf/* 2>/dev/null || true
  # The indexed tables are rebuilt from their text, never copied: see below.
  if [ -f $cf/refuse ]; then postmap lmdb:$cf/refuse && touch -d '-1 min' $cf/refuse.lmdb; fi
  exec /usr/lib/postfix/sbin/master -i
fi
if [ -n "${MH_USER_CONFIG:-}" ]; then
  exec /usr/local/bin/user-config.sh
fi
{
  echo "myhostname = ${MH_HOSTNAME}"
  echo "mydomain = ${MH_DOMAIN}"
  echo "mynetworks = 127.0.0.0/8 ${MH_NETWORKS:-}"
  printf '%s\n' "${MH_MAIN_CF:-}"
} >> $cf/main.cf

: > $cf/local_recipients
: > $cf/aliases
: > $cf/refuse
: > $cf/virtual
: > $cf/tls_policy
uid=2000
for u in ${MH_USERS}; do
  echo "$u OK" >> $cf/local_recipients
  if ! grep -q "^$u:" /etc/passwd; then
    echo "$u:x:$uid:$uid::/var/mail/$u:/usr/sbin/nologin" >> /etc/passwd
    echo "$u:x:$uid:" >> /etc/group
  fi
  mkdir -p /var/mail/$u/new /var/mail/$u/cur /var/mail/$u/tmp
  chown -R "$u:$u" /var/mail/$u
  uid=$((uid + 1))
done

: > $cf/transport
alt="$(echo "${MH_DOMAIN}" | sed 's/\./\\./g')"
for r in ${MH_ROUTES:-}; do
  d=${r%%=*}
  # "domain" goes by its MX; "domain=host" straight to that host (a backend behind this gateway)
  case "$r" in *=*) echo "$d smtp:[${r#*=}]" >> $cf/transport ;; *) echo "$d smtp:" >> $cf/transport ;; esac
  alt="$alt|$(echo "$d" | sed 's/\./\\./g')"
done
cat > $cf/topology_only.regexp <<RE
!/@($alt)\$/ REJECT 5.7.1 mailharness: domain outside the test topology, never delivered
RE

# Postfix waits up to ~2.5 s at start when main.cf or a table changed within the last second: backdate. (Its
# commands wait too: postmap reads main.cf first, so it runs after this.)
touch -d '-1 min' $cf/* 2>/dev/null || true
# The refusals' table is indexed (lmdb: smtpd reads it at every lookup, main.cf says why). Only its text goes into
# the baseline: whoever restores the text rebuilds the index with postmap, which updates it in place in one LMDB
# transaction, where a copy over the file would change it under the smtpd processes reading it.
postmap lmdb:$cf/refuse && touch -d '-1 min' $cf/refuse.lmdb
postmap lmdb:$cf/tls_policy && touch -d '-1 min' $cf/tls_policy.lmdb
cp -p $cf/main.cf $cf/master.cf $cf/local_recipients $cf/aliases $cf/refuse $cf/virtual $cf/transport $cf/tls_policy \
  $cf/topology_only.regexp $cf/baseline/
# master in init mode (PID 1) directly: `postfix start-fg` would spend ~0.2 s on checks the image build did.
exec /usr/lib/postfix/sbin/master -i
