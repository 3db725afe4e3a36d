#!/bin/sh
set -e
# Every service unchrooted: no copies of resolv.conf and friends into /var/spool/postfix.
postconf -F '*/*/chroot = n'
