"""What an Exim node's logs say happened: the same records as every MTA's (harness.evidence), read from Exim's
main, reject and panic logs. Everything the harness knows about the wording of Exim's logs is in this package."""
