"""A real IMAP server for the bounce mailbox tests: Debian's Dovecot (``dovecot-imapd``) run as
a process in a temporary directory, with one user and password, IMAPS on a free loopback port
with a certificate made for the run (and plain IMAP beside it for STARTTLS), and helpers that
deliver messages into it (IMAP APPEND, as an MTA's delivery would leave them) and read folders.

``dovecot_server()`` skips the test, saying why, where Dovecot is not installed (.ci/run
installs it).
"""

import datetime
import getpass
import grp
import imaplib
import ipaddress
import os
import pwd
import shutil
import ssl
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.processes import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
SAMPLES = Path(__file__).resolve().parent.parent / "deliverability" / "samples"


def self_signed_certificate(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A key and a certificate for ``host`` (an IP address SAN and localhost)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName("localhost")]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = directory / "key.pem", directory / "cert.pem"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


@dataclass
class ImapServer:
    host: str
    port: int  # IMAPS
    plain_port: int  # IMAP (STARTTLS)
    user: str
    password: str
    ca_file: Path
    directory: Path

    def client(self) -> imaplib.IMAP4_SSL:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        client = imaplib.IMAP4_SSL(self.host, self.port, ssl_context=context, timeout=10)
        client.login(self.user, self.password)
        return client

    def deliver(self, *messages: bytes, folder: str = "INBOX") -> None:
        client = self.client()
        try:
            for raw in messages:
                kind, data = client.append(folder, None, None, raw.replace(b"\r\n", b"\n")
                                           .replace(b"\n", b"\r\n"))
                assert kind == "OK", data
        finally:
            client.logout()

    def count(self, folder: str) -> int:
        client = self.client()
        try:
            kind, data = client.select(f'"{folder}"', readonly=True)
            return int(data[0]) if kind == "OK" else 0
        finally:
            client.logout()

    def use(self, settings, *, security: str = "tls") -> None:
        """Point the bounce mailbox settings at this server."""
        settings.BOUNCE_IMAP_HOST = self.host
        settings.BOUNCE_IMAP_PORT = self.port if security == "tls" else self.plain_port
        settings.BOUNCE_IMAP_SECURITY = security
        settings.BOUNCE_IMAP_USER = self.user
        settings.BOUNCE_IMAP_PASSWORD = self.password
        settings.BOUNCE_IMAP_CA_FILE = str(self.ca_file)
        settings.BOUNCE_IMAP_FOLDER = "INBOX"
        settings.BOUNCE_IMAP_PROCESSED_FOLDER = "Processed"
        settings.BOUNCE_IMAP_DELETE = False


_CONFIG = """
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
info_log_path = {dir}/dovecot.log
listen = 127.0.0.1
protocols = imap
ssl = yes
ssl_cert = <{dir}/cert.pem
ssl_key = <{dir}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{dir}/mail/%u
first_valid_uid = 1
first_valid_gid = 1
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={dir}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {plain_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""


@contextmanager
def dovecot_server(user: str = "bounces", password: str = "bounce-secret-1"):
    if not os.path.exists(DOVECOT):
        pytest.skip("Debian's dovecot-imapd is not installed (apt-get install dovecot-imapd; "
                    ".ci/run does): the bounce mailbox tests need a real IMAP server")
    directory = Path(tempfile.mkdtemp(prefix="partwork-imap-"))
    directory.chmod(0o755)
    port, plain_port = free_port(), free_port()
    self_signed_certificate(directory)
    (directory / "passwd").write_text(f"{user}:{{PLAIN}}{password}\n")
    for sub in ("run", "state", "mail", "home"):
        (directory / sub).mkdir()
    me = getpass.getuser()
    root = os.geteuid() == 0
    # Dovecot never opens mail as root: as root, the mail belongs to its own system user.
    uid, gid = (pwd.getpwnam("dovecot").pw_uid, grp.getgrnam("dovecot").gr_gid) if root \
        else (os.getuid(), os.getgid())
    for sub in ("mail", "home"):
        os.chown(directory / sub, uid, gid)
    config = directory / "dovecot.conf"
    config.write_text(_CONFIG.format(
        dir=directory, port=port, plain_port=plain_port, uid=uid, gid=gid,
        login_user="dovenull" if root else me, internal_user="dovecot" if root else me,
        internal_group="dovecot" if root else me,
    ))
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(config)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT, start_new_session=True)
    server = ImapServer("127.0.0.1", port, plain_port, user, password,
                        directory / "cert.pem", directory)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                server.client().logout()
                break
            except (OSError, imaplib.IMAP4.error):
                if process.poll() is not None or time.monotonic() > deadline:
                    log = (directory / "dovecot.log")
                    raise AssertionError("Dovecot did not start: " + (
                        log.read_text() if log.exists() else "no log")) from None
                time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


def sample(name: str, *, recipient: str, return_path: str, message_id: str,
           unique: str) -> bytes:
    """A committed sample with the placeholders filled in for one delivery."""
    text = (SAMPLES / name).read_text()
    for marker, value in (("%%RECIPIENT%%", recipient), ("%%RETURN_PATH%%", return_path),
                          ("%%MESSAGE_ID%%", message_id), ("%%UNIQUE%%", unique)):
        text = text.replace(marker, value)
    return text.encode()
