"""Ready-made scenarios: mail behaviour, written to be read as documentation. Run them with `mailharness run`."""
