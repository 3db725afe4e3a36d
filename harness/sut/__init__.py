"""The server under test: a user's own configuration put in a topology (byoc.py), and the requirements' view of
it (conformance.py: the Target, the four outcomes)."""
