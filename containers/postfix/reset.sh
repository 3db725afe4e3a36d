#!/bin/sh
# Back to the node's baseline between tests: queue emptied, mailboxes cleared; with --config, the
# configuration files restored and Postfix reloaded; with --queue, the queue emptied only (before the faults go:
# MailTopology.reset). Prints nothing on success.
postsuper -d ALL >/dev/null 2>&1
[ "${1:-}" = "--queue" ] && exit 0
rm -f /var/mail/.mh-fill /var/mail/.mh-fill2 /var/mail/*/.forward
rm -rf /var/spool/mh-mbox
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
  # What `postfix reload` comes to (harness.mta.postfix.node's _RELOAD says why not the command itself): master
  # is PID 1 here.
  kill -HUP 1
fi
exit 0
