"""The mock's side of TLS: which certificate it presents at STARTTLS, and what the harness's faults change.

The harness gives every mock node a certificate of each kind (harness.pki), all for the node's one key, in one
folder (``--tls-dir``): ``valid.crt`` (issued by the topology's own CA for the node's host name), ``expired.crt``
(the same, out of date), ``wrong_name.crt`` (issued by the CA for another name), ``self_signed.crt`` and
``untrusted.crt`` (issued by a CA nobody trusts), and ``key.pem``. The script chooses the kind
(``Script.certificate``, "valid" by default); a fault may override it, and may take STARTTLS away, by a file in the
faults folder (``--faults``), read at each EHLO and STARTTLS:

- ``starttls-off``: STARTTLS is neither offered nor accepted (NoStartTLS), whatever the script advertises;
- ``certificate``: the kind to present instead of the script's (BadCertificate).

The harness writes and removes these files (harness.faults); a removed file is the script's behaviour again.

Only the standard library: the mock-smtp image copies this folder as it is.
"""

from __future__ import annotations

import os
import ssl
import threading
from collections.abc import Mapping

#: The kinds of certificate a mock can present (Script.certificate, BadCertificate's kind).
CERTIFICATES: tuple[str, ...] = ("valid", "expired", "wrong_name", "self_signed", "untrusted")
#: The file names of the faults folder.
STARTTLS_OFF = "starttls-off"
CERTIFICATE = "certificate"
#: Where the mock-smtp container keeps them.
FAULTS_DIR = "/etc/mock/faults"
KEY_FILE = "key.pem"


def certificate_file(kind: str) -> str:
    """The file name of the certificate of `kind` in the certificates' folder ("expired.crt")."""
    if kind not in CERTIFICATES:
        raise ValueError(f"unknown certificate kind {kind!r}; kinds: {', '.join(CERTIFICATES)}")
    return f"{kind}.crt"


class Certificates:
    """The server's TLS contexts by certificate kind.

    From a folder (`directory`, as the harness writes it: KIND.crt and key.pem), loaded at first use and kept;
    `fallback` (a certificate and its key) stands for "valid" where the folder has none (the mock-smtp image's own
    self-signed one, made when the image was built); `contexts` gives them ready made (in-process)."""

    def __init__(self, directory: str | None = None, *, fallback: tuple[str, str] | None = None,
                 contexts: Mapping[str, ssl.SSLContext] | None = None) -> None:
        self.directory = directory
        self.fallback = fallback
        self._contexts: dict[str, ssl.SSLContext | None] = dict(contexts or {})
        self._lock = threading.Lock()

    def _files(self, kind: str) -> tuple[str, str] | None:
        if self.directory:
            cert = os.path.join(self.directory, certificate_file(kind))
            key = os.path.join(self.directory, KEY_FILE)
            if os.path.isfile(cert) and os.path.isfile(key):
                return cert, key
        return self.fallback if kind == "valid" else None

    def context(self, kind: str) -> ssl.SSLContext | None:
        """The server context that presents the certificate of `kind`; None when there is none of that kind (or no
        such kind)."""
        if kind not in CERTIFICATES:
            return None
        with self._lock:
            if kind not in self._contexts:
                files = self._files(kind)
                context = None
                if files is not None:
                    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                    context.load_cert_chain(*files)
                self._contexts[kind] = context
            return self._contexts[kind]

    def describe(self) -> str:
        """Where the certificates come from, for the server's start line."""
        where = [f"certificates from {self.directory}"] if self.directory else []
        if self.fallback:
            where.append(f"{self.fallback[0]} when none is valid")
        if self._contexts:
            where.append("contexts given: " + ", ".join(sorted(self._contexts)))
        return "; ".join(where) or "no certificate"


class FaultFiles:
    """What the harness's TLS faults say, read from their folder (see the module's docstring); no folder: none."""

    def __init__(self, directory: str | None = None) -> None:
        self.directory = directory

    def _path(self, name: str) -> str | None:
        return os.path.join(self.directory, name) if self.directory else None

    def starttls_off(self) -> bool:
        """A fault took STARTTLS away."""
        path = self._path(STARTTLS_OFF)
        return path is not None and os.path.exists(path)

    def certificate(self) -> str | None:
        """The certificate kind a fault chose (as written: the server refuses STARTTLS for a kind it does not know);
        None without such a fault (the script's choice stands)."""
        path = self._path(CERTIFICATE)
        if path is None:
            return None
        try:
            with open(path, encoding="utf-8") as f:
                kind = f.read().strip()
        except FileNotFoundError:
            return None
        return kind


__all__ = ["CERTIFICATE", "CERTIFICATES", "FAULTS_DIR", "STARTTLS_OFF", "Certificates", "FaultFiles",
           "certificate_file"]
