"""`mailharness load` (command.py: its options, and the run) and its parts, which command.py runs in order:

    mix         the topology, the faults, the planned messages and what must become of each recipient
    clients     C concurrent SMTP clients over harness.smtp.submit, with progress
    settle      queues drained, no log line lost on the way to the harness, mailboxes compared with the logs
    accounting  every recipient of every message accounted for from the logs (pure: events in, verdicts out)
    reference   smtp-source, Postfix's own load generator, for the reference throughput
    report      the figures and the accounting table as text
    result      the options, and the result: its figures, its summary, whether the run was clean
"""
