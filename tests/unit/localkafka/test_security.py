"""A SASL_SSL broker's files: its certificates, its SASL user, its listeners, its probe."""

from __future__ import annotations

import ssl
import stat
import struct
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from localkafka.config import (
    SecureListeners,
    render_server_properties,
    scram_format_arguments,
)
from localkafka.probe import error_code_of, sasl_handshake_request, sasl_plain_request
from localkafka.security import SecurityFiles, ensure_secrets, write_client_env


def properties(text: str) -> dict[str, str]:
    return dict(
        line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#")
    )


def test_the_secrets_are_made_once_private_and_verify_as_a_chain(tmp_path: Path) -> None:
    files = SecurityFiles(tmp_path / "security")

    password = ensure_secrets(files, "127.0.0.1")
    first_ca = files.ca_certificate.read_bytes()
    again = ensure_secrets(files, "127.0.0.1")

    assert again == password
    assert len(password) >= 24
    assert files.ca_certificate.read_bytes() == first_ca  # kept: clients still trust it
    for path in files.folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    # The stdlib loads them as a client does: the CA to trust, the client's key pair.
    context = ssl.create_default_context(cafile=str(files.ca_certificate))
    context.load_cert_chain(str(files.client_certificate), str(files.client_key))
    broker = x509.load_pem_x509_certificates(files.broker_keystore.read_bytes())
    names = broker[0].extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "127.0.0.1" in {str(ip) for ip in names.get_values_for_type(x509.IPAddress)}
    usage = broker[0].extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    # The broker is a client of its own controller: both usages.
    assert {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH} <= set(usage)
    ca = x509.load_pem_x509_certificate(first_ca)
    broker[0].verify_directly_issued_by(ca)


def test_another_host_gets_new_certificates(tmp_path: Path) -> None:
    files = SecurityFiles(tmp_path / "security")
    ensure_secrets(files, "127.0.0.1")
    before = files.broker_keystore.read_bytes()

    ensure_secrets(files, "127.0.0.2")

    assert files.broker_keystore.read_bytes() != before


def test_the_client_env_names_the_password_file_not_the_password(tmp_path: Path) -> None:
    files = SecurityFiles(tmp_path / "security")
    password = ensure_secrets(files, "127.0.0.1")

    write_client_env(files, "127.0.0.1:9093")
    env = properties(files.client_env.read_text())

    assert password not in files.client_env.read_text()
    assert env == {
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9093",
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SASL_USERNAME": "cleverstream",
        "KAFKA_SASL_PASSWORD_FILE": str(files.password_file),
        "KAFKA_SSL_CA_LOCATION": str(files.ca_certificate),
    }


def test_a_secure_broker_listens_on_nothing_in_plaintext(tmp_path: Path) -> None:
    files = SecurityFiles(tmp_path)
    secure = SecureListeners(tls_port=9094, files=files, password="pw")  # noqa: S106 - a test's own

    found = properties(
        render_server_properties(
            host="127.0.0.1",
            broker_port=9093,
            controller_port=9095,
            data_dir=tmp_path / "data",
            secure=secure,
        )
    )

    assert found["listeners"] == (
        "SASL_SSL://127.0.0.1:9093,SSL://127.0.0.1:9094,CONTROLLER://127.0.0.1:9095"
    )
    assert "PLAINTEXT" not in found["listener.security.protocol.map"]
    assert found["ssl.client.auth"] == "required"
    assert found["listener.name.sasl_ssl.ssl.client.auth"] == "none"
    assert found["listener.name.sasl_ssl.sasl.enabled.mechanisms"] == (
        "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512"
    )
    assert 'user_cleverstream="pw"' in found["listener.name.sasl_ssl.plain.sasl.jaas.config"]
    assert found["ssl.keystore.location"] == str(files.broker_keystore)
    assert scram_format_arguments("pw") == [
        "--add-scram=SCRAM-SHA-256=[name=cleverstream,password=pw]",
        "--add-scram=SCRAM-SHA-512=[name=cleverstream,password=pw]",
    ]


def test_the_probe_logs_in_with_a_plain_token_in_framed_requests() -> None:
    handshake = sasl_handshake_request("PLAIN")
    authenticate = sasl_plain_request("user", "secret")

    assert struct.unpack_from(">ihh", handshake) == (len(handshake) - 4, 17, 1)
    assert handshake.endswith(struct.pack(">h", 5) + b"PLAIN")
    assert struct.unpack_from(">ihh", authenticate) == (len(authenticate) - 4, 36, 0)
    assert authenticate.endswith(struct.pack(">i", 12) + b"\0user\0secret")
    correlation = struct.unpack_from(">i", handshake, 8)[0]
    assert error_code_of(struct.pack(">ih", correlation, 58)) == 58
