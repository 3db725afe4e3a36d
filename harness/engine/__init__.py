"""Docker engine access: the client, labels and cleanup, image builds (pull or offline)."""
