"""The secrets of a SASL_SSL broker: a throwaway CA, certificates, and a SASL user.

Made once per state folder and kept there, so that clients configured against one start
still connect after the next. The CA signs a broker certificate (for its listeners and for the
broker's own connections to its controller, both mutual TLS) and a client certificate (for the
SSL listener); the SASL user logs in with PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 on the
SASL_SSL listener. None of it is for production: the CA's key lies beside the certificates.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: The SASL user clients log in as. JAAS option names (``user_<name>``) allow no "-".
USERNAME: Final = "cleverstream"
#: What ``local-kafka`` prints for clients to use; the broker accepts all three.
CLIENT_MECHANISM: Final = "SCRAM-SHA-512"
SCRAM_MECHANISMS: Final = ("SCRAM-SHA-256", "SCRAM-SHA-512")
_VALID_FOR: Final = datetime.timedelta(days=825)


@dataclass(frozen=True)
class SecurityFiles:
    """Where the secrets of one broker live: ``<state folder>/security``."""

    folder: Path

    @property
    def ca_certificate(self) -> Path:
        """The CA's certificate: clients trust it (``KAFKA_SSL_CA_LOCATION``)."""
        return self.folder / "ca.pem"

    @property
    def ca_key(self) -> Path:
        """The CA's private key."""
        return self.folder / "ca-key.pem"

    @property
    def broker_keystore(self) -> Path:
        """The broker's key and certificate chain, a PEM keystore."""
        return self.folder / "broker.pem"

    @property
    def client_certificate(self) -> Path:
        """A client certificate for the SSL listener (``KAFKA_SSL_CERTIFICATE_LOCATION``)."""
        return self.folder / "client.pem"

    @property
    def client_key(self) -> Path:
        """Its private key (``KAFKA_SSL_KEY_LOCATION``)."""
        return self.folder / "client-key.pem"

    @property
    def password_file(self) -> Path:
        """The SASL user's password (``KAFKA_SASL_PASSWORD_FILE``)."""
        return self.folder / "sasl-password"

    @property
    def client_env(self) -> Path:
        """The KAFKA_* settings of a SASL_SSL client, to source or use as an env file."""
        return self.folder / "client.env"

    @property
    def hosts_file(self) -> Path:
        """The host the broker certificate was made for: another host needs a new one."""
        return self.folder / "host"


def ensure_secrets(files: SecurityFiles, host: str) -> str:
    """Make the CA, the certificates and the password unless they exist for ``host``;
    the SASL user's password."""
    complete = all(
        path.is_file()
        for path in (
            files.ca_certificate,
            files.ca_key,
            files.broker_keystore,
            files.client_certificate,
            files.client_key,
            files.password_file,
            files.hosts_file,
        )
    )
    if not complete or files.hosts_file.read_text(encoding="utf-8").strip() != host:
        _make_secrets(files, host)
    return files.password_file.read_text(encoding="utf-8").strip()


def write_client_env(files: SecurityFiles, bootstrap_servers: str) -> None:
    """The env file a SASL_SSL client of this broker uses (no password in it: a file path)."""
    lines = [
        "# Written by local-kafka: the settings of a client of its SASL_SSL listener.",
        f"KAFKA_BOOTSTRAP_SERVERS={bootstrap_servers}",
        "KAFKA_SECURITY_PROTOCOL=SASL_SSL",
        f"KAFKA_SASL_MECHANISM={CLIENT_MECHANISM}",
        f"KAFKA_SASL_USERNAME={USERNAME}",
        f"KAFKA_SASL_PASSWORD_FILE={files.password_file}",
        f"KAFKA_SSL_CA_LOCATION={files.ca_certificate}",
    ]
    _write_private(files.client_env, "\n".join(lines) + "\n")


def _make_secrets(files: SecurityFiles, host: str) -> None:
    files.folder.mkdir(parents=True, exist_ok=True)
    os.chmod(files.folder, 0o700)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "clever-stream local-kafka CA")])
    ca = (
        _builder(ca_name, ca_name, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    broker_key = ec.generate_private_key(ec.SECP256R1())
    broker = _leaf(ca, ca_key, broker_key, "local-kafka broker", host, now)
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = _leaf(ca, ca_key, client_key, "local-kafka client", host, now)

    _write_private(files.ca_key, _pem_key(ca_key))
    _write_private(files.broker_keystore, _pem_key(broker_key) + _pem(broker) + _pem(ca))
    _write_private(files.client_key, _pem_key(client_key))
    _write_private(files.ca_certificate, _pem(ca))
    _write_private(files.client_certificate, _pem(client))
    _write_private(files.password_file, secrets.token_urlsafe(24) + "\n")
    _write_private(files.hosts_file, host + "\n")


def _builder(
    subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePublicKey, now: datetime.datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALID_FOR)
    )


def _leaf(
    ca: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    key: ec.EllipticCurvePrivateKey,
    name: str,
    host: str,
    now: datetime.datetime,
) -> x509.Certificate:
    """A certificate for ``host`` that serves and authenticates as a client both, since the
    broker is a client of its own controller."""
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    try:
        names.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        names.append(x509.DNSName(host))
    if host != "127.0.0.1":
        names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    return (
        _builder(subject, ca.subject, key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _pem_key(key: ec.EllipticCurvePrivateKey) -> str:
    # Unencrypted PKCS#8: what Kafka's PEM keystore reads without ssl.key.password.
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable by its owner only, replacing it atomically."""
    temporary = path.with_suffix(path.suffix + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
    temporary.replace(path)
