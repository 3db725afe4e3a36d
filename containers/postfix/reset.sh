#!/bin/sh
# Back to the node's baseline between tests: queue emptied, mailboxes cleared; with --config, the
# configuration files restored and Postfix reloaded; with --queue, the queue emptied only (before the faults go:
# MailTopology.reset). Prints nothing on success.
# Most resets find nothing to do: the shell's own globs look first, and a program runs only for what is there (each
# program run costs this node 5 ms of CPU, postsuper and find alike; a reset of three nodes between each two tests).
# (-e: a pattern that matches nothing stays as it is, and names no file.)
any() { for f in "$@"; do [ -e "$f" ] && return 0; done; return 1; }
q=/var/spool/postfix  # the image's queue; a user's configuration may name another: postsuper looks for itself
if [ -d /etc/mailharness-user ] || any $q/incoming/* $q/active/* $q/deferred/*/* $q/hold/*; then
  postsuper -d ALL >/dev/null 2>&1
fi
[ "${1:-}" = "--queue" ] && exit 0
! any /var/mail/.mh-fill /var/mail/.mh-fill2 /var/mail/*/.forward ||
  rm -f /var/mail/.mh-fill /var/mail/.mh-fill2 /var/mail/*/.forward
[ ! -e /var/spool/mh-mbox ] || rm -rf /var/spool/mh-mbox
! any /var/mail/*/new/* /var/mail/*/cur/* /var/mail/*/tmp/* /var/mail/*/.*/new/* /var/mail/*/.*/cur/* \
  /var/mail/*/.*/tmp/* || \
  find /var/mail -path '*/new/*' -type f -delete -o -path '*/cur/*' -type f -delete -o -path '*/tmp/*' -type f -delete
# A configuration of the user's delivers wherever it says (mbox files, Maildirs, virtual mailboxes), all on /var/mail.
[ -d /etc/mailharness-user ] && find /var/mail -type f -delete
if [ "${1:-}" = "--config" ]; then
  # Faults may have changed the configuration: restore it, and wait for nothing (reload is asynchronous;
  # the harness waits for master's "reload" log line).
  cp -p /etc/postfix/baseline/* /etc/postfix/
  touch -d '-1 min' /etc/postfix/* 2>/dev/null || true
  # The refusals' index from its restored text (entrypoint.sh: the baseline holds the text only; postmap waits for
  # a main.cf changed within the last second, hence after the touch).
  [ -f /etc/postfix/refuse ] && postmap lmdb:/etc/postfix/refuse && touch -d '-1 min' /etc/postfix/refuse.lmdb
  # The TLS policies' index likewise (the image's table: a user's configuration has its own, or none).
  [ ! -d /etc/mailharness-user ] && [ -f /etc/postfix/tls_policy ] && postmap lmdb:/etc/postfix/tls_policy &&
    touch -d '-1 min' /etc/postfix/tls_policy.lmdb
  # What `postfix reload` comes to (harness.mta.postfix.node's _RELOAD says why not the command itself): master
  # is PID 1 here.
  kill -HUP 1
fi
exit 0
