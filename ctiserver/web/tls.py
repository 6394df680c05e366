"""https and wss for the panel and API: the server's TLS context, and the demo's self-signed certificate.

A site gives its own certificate (``http.tls_cert``, the chain in PEM, and ``http.tls_key``);
``make run`` makes a self-signed one under ``.run/tls/`` with ``python -m ctiserver.web.tls``
(the ``openssl`` command, present on Debian), which a browser accepts after a warning.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import sys
from pathlib import Path


class TlsError(Exception):
    """The certificate or key cannot be used; the message is one clear line."""


def server_context(cert: str, key: str) -> ssl.SSLContext:
    """A server-side TLS context (TLS 1.2 or newer) with the configured certificate and key."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except FileNotFoundError as exc:
        raise TlsError(
            f"http.tls_cert/http.tls_key: {exc.filename} not found"
        ) from None
    except PermissionError as exc:
        raise TlsError(
            f"http.tls_cert/http.tls_key: {exc.filename} cannot be read (permissions)"
        ) from None
    except ssl.SSLError as exc:
        raise TlsError(
            f"http.tls_cert/http.tls_key: {cert} and {key} are not a PEM certificate and its key "
            f"({exc.reason or exc})"
        ) from None
    return context


def self_signed(folder: str | Path, days: int = 825) -> tuple[Path, Path]:
    """The demo's certificate for localhost and 127.0.0.1 in ``folder`` (made once, kept after)."""
    folder = Path(folder)
    cert, key = folder / "demo-cert.pem", folder / "demo-key.pem"
    if cert.exists() and key.exists():
        return cert, key
    openssl = shutil.which("openssl")
    if openssl is None:
        raise TlsError(
            "the openssl command is missing: install it (apt-get install openssl) or set http.tls_cert"
        )
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    result = subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            str(days),
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
            "-addext",
            "extendedKeyUsage=serverAuth",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise TlsError(f"openssl could not make the demo certificate: {last}")
    key.chmod(0o600)
    return cert, key


def main(argv: list[str]) -> int:
    """``python -m ctiserver.web.tls FOLDER``: print the demo certificate's and key's paths, made if missing."""
    folder = argv[0] if argv else ".run/tls"
    try:
        cert, key = self_signed(folder)
    except TlsError as exc:
        print(f"ctiserver: {exc}", file=sys.stderr)
        return 1
    print(cert)
    print(key)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
