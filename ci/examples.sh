# The bundled examples and what each must get, for ci/run-releases and ci/run-explore (one list for both; a new
# example is added here). Sourced.
#   want:  the exit status `mailharness check` must give on the default release (0: every requirement passes or
#          does not apply; 1: one fails). The examples that want 0 are the correct ones: `mailharness explore`
#          must find nothing on them.
#   explored: the exit status `mailharness explore` must give on a correct example, where it is not 0 (no violation
#          found): 5, not applicable, for the outbound-only servers (they receive no mail from outside).
#   extra: what an example needs besides itself (postfix-sql: readable copies of its SQL tables, FILE relative to
#          the example), for check and explore alike.
#   kind:  the MTA an example is a configuration of, when it is not Postfix: ci/run-releases checks it on each of
#          that MTA's releases (`--mta KIND@VERSION`), ci/run-explore leaves it out (explore runs Postfix
#          configurations only, so far).
# shellcheck disable=SC2034  # used by the scripts that source this file
declare -A want=([postfix-good]=0 [postfix-debian]=0 [postfix-distribution]=0 [postfix-gateway]=0
                 [postfix-inbound-gateway]=0 [postfix-backscatter]=1 [postfix-sql]=0
                 [postfix-nullclient]=0 [postfix-satellite]=0 [postfix-bare-newline]=1
                 [postfix-tls]=0 [postfix-auth-in-clear]=1 [postfix-relay-tls]=0 [postfix-relay-tls-in-clear]=1
                 [exim-default]=0 [exim-debian]=0 [exim-default-backscatter]=1 [exim-debian-backscatter]=1)
#   want_on: where a release gives another exit status than `want`, EXAMPLE@VERSION. Debian's own default
#          configuration on Postfix 3.7 (Debian 12) is vulnerable to SMTP smuggling: 3.7.11's default
#          smtpd_forbid_bare_newline is no, and RFC 5321 s4.1.1.4 forbids what it does (docs/smuggling.md).
# shellcheck disable=SC2034
declare -A want_on=([postfix-debian@3.7]=1)
# shellcheck disable=SC2034
declare -A explored=([postfix-nullclient]=5 [postfix-satellite]=5 [postfix-relay-tls]=5)
# shellcheck disable=SC2034
declare -A extra=([postfix-sql]="--mta-table virtual_mailbox_domains=texthash/virtual_mailbox_domains
  --mta-table virtual_mailbox_maps=texthash/virtual_mailbox_maps --mta-table virtual_alias_maps=texthash/virtual_alias_maps")
# shellcheck disable=SC2034
declare -A kind=([exim-default]=exim [exim-debian]=exim [exim-default-backscatter]=exim [exim-debian-backscatter]=exim)
