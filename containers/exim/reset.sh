#!/bin/sh
# Back to the node's baseline between tests (EximNode.reset): the queue emptied, the retry hints forgotten, the
# mailboxes cleared, and the configuration restored:
#   - the data files under /etc/exim4/mh (read at each use: restored in place, each by an atomic rename);
#   - the settings and the configure, which Exim reads when it starts: when either differed from its baseline, the
#     daemon is told to read them again (SIGHUP through PID 1) and "restarted" is printed: the caller waits for
#     Exim's "daemon started" line.
#   --config   the configuration only (EximNode.restore_config)
#   --files    the configuration files only, no signal (entrypoint.sh, before Exim starts)
#   --queue    the queue only (MailTopology.reset, before the faults go)
# Prints nothing else on success.
mh=/etc/exim4/mh
spool=/var/spool/exim4
mode=${1:-}
# Most resets find nothing to remove: the shell's globs look first, and a program runs only for what is there (each
# program run costs the node about 5 ms of CPU, and every node is reset between each two tests). A pattern that
# matches nothing stays as it is and names no file (-e).
any() { for f in "$@"; do [ -e "$f" ] && return 0; done; return 1; }

restore_files() {  # prints "restart" when a file Exim reads only at its start changed
  # Nothing changed (most resets): one diff and one cmp say so, instead of a cmp a file (10 ms a reset).
  if diff -rq -x baseline $mh/baseline $mh >/dev/null 2>&1 &&
     cmp -s /etc/exim4/baseline/exim4.conf /etc/exim4/exim4.conf; then
    return 0
  fi
  changed=""
  for b in $mh/baseline/*; do
    f=$mh/${b##*/}
    if ! cmp -s "$b" "$f"; then
      cp -p "$b" "$f.mh-new" && mv -f "$f.mh-new" "$f"
      case "${b##*/}" in settings|node.conf) changed=1 ;; esac
    fi
  done
  for f in $mh/*; do
    [ -f "$f" ] && [ ! -e "$mh/baseline/${f##*/}" ] && rm -f "$f"
  done
  if ! cmp -s /etc/exim4/baseline/exim4.conf /etc/exim4/exim4.conf; then
    cp -p /etc/exim4/baseline/exim4.conf /etc/exim4/exim4.conf.mh-new && mv -f /etc/exim4/exim4.conf.mh-new /etc/exim4/exim4.conf
    changed=1
  fi
  [ -n "$changed" ] && echo restart
  return 0
}

restart_if() {  # $1: "restart" or ""
  if [ "$1" = restart ]; then kill -HUP 1 && echo restarted; fi
}

if [ "$mode" = --files ]; then restore_files >/dev/null; exit 0; fi
if [ "$mode" = --config ]; then restart_if "$(restore_files)"; exit 0; fi

# The queue: every message removed (exim -Mrm); one a delivery process still holds (locked) is removed once that
# process is gone (killed: the message is being thrown away).
ids=""
any $spool/input/*-H && ids=$(ls $spool/input 2>/dev/null | sed -n 's/-H$//p')
if [ -n "$ids" ]; then
  exim -Mrm $ids >/dev/null 2>&1
  left=$(ls $spool/input 2>/dev/null | sed -n 's/-H$//p')
  if [ -n "$left" ]; then
    for id in $left; do
      ino=$(stat -c %i "$spool/input/$id-D" 2>/dev/null) || continue
      for pid in $(awk -v ino=":$ino" 'substr($6, length($6) - length(ino) + 1) == ino {print $5}' /proc/locks); do
        kill -KILL "$pid" 2>/dev/null
      done
    done
    i=0
    while [ $i -lt 50 ]; do
      exim -Mrm $left >/dev/null 2>&1
      left=$(ls $spool/input 2>/dev/null | sed -n 's/-H$//p')
      [ -z "$left" ] && break
      sleep 0.02; i=$((i + 1))
    done
    [ -n "$left" ] && echo "mailharness: reset: still queued after 1 s: $left"
  fi
fi
[ "$mode" = --queue ] && exit 0
# The hints: hosts and addresses that failed before are tried again at once (as on a fresh node).
! any $spool/db/retry $spool/db/retry.lockfile $spool/db/wait-* ||
  rm -f $spool/db/retry $spool/db/retry.lockfile $spool/db/wait-* 2>/dev/null
# The mailboxes: every message, quota file and .forward, and what a full disk left.
! any /var/mail/.mh-fill* /var/mail/*/.forward /var/mail/*/maildirsize ||
  rm -f /var/mail/.mh-fill* /var/mail/*/.forward /var/mail/*/maildirsize
! any /var/mail/*/new/* /var/mail/*/cur/* /var/mail/*/tmp/* /var/mail/*/.*/new/* /var/mail/*/.*/cur/* \
  /var/mail/*/.*/tmp/* ||
  find /var/mail -path '*/new/*' -type f -delete -o -path '*/cur/*' -type f -delete -o -path '*/tmp/*' -type f -delete
# A user's configuration: its mbox files (/var/mail/USER; its Maildirs in the homes are cleared above).
for f in /var/mail/* /var/mail/.[!.]*; do
  if [ -f "$f" ]; then find /var/mail -maxdepth 1 -type f -delete; break; fi
done
restart_if "$(restore_files)"
exit 0
