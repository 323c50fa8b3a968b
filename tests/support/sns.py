"""A stand-in for Amazon SNS's side of an HTTP subscription, run for real on loopback: a signing
key and certificate made for the run, served over HTTP like SNS's SigningCertURL, a SubscribeURL
that records the GETs it gets, and messages signed the way SNS signs them (SignatureVersion 1,
SHA1withRSA; 2, SHA256withRSA) over the documented fields."""

import base64
import datetime
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from pipeline.deliverability.services.sns import string_to_sign

TOPIC = "arn:aws:sns:eu-west-1:123456789012:ses-bounces"


def signing_pair(common_name: str = "sns.eu-west-1.amazonaws.com"):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .sign(key, hashes.SHA256()))
    return key, certificate.public_bytes(serialization.Encoding.PEM)


class FakeSns:
    """Serves ``/cert.pem`` and ``/confirm`` on 127.0.0.1 (or ``host``) at a free port."""

    def __init__(self, host: str = "127.0.0.1"):
        self.key, self.pem = signing_pair()
        self.confirmations: list[str] = []
        self.cert_fetches = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the http.server name)
                if self.path.startswith("/cert.pem"):
                    owner.cert_fetches += 1
                    body, status = owner.pem, 200
                elif self.path.startswith("/confirm"):
                    owner.confirmations.append(self.path)
                    body, status = b"<ConfirmSubscriptionResponse/>", 200
                else:
                    body, status = b"", 404
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.host = host
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.server.server_address[1]}"

    def __enter__(self) -> "FakeSns":
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def sign(self, message: dict, *, version: str = "1", key=None) -> dict:
        message = {**message, "SignatureVersion": version}
        digest = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = (key or self.key).sign(string_to_sign(message), padding.PKCS1v15(), digest)
        message["Signature"] = base64.b64encode(signature).decode()
        return message

    def envelope(self, kind: str, *, topic: str = TOPIC, timestamp=None, cert_url=None,
                 **fields) -> dict:
        when = timestamp or datetime.datetime.now(datetime.UTC)
        return {
            "Type": kind, "MessageId": str(uuid.uuid4()), "TopicArn": topic,
            "Timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "SigningCertURL": cert_url or f"{self.origin}/cert.pem", **fields,
        }

    def notification(self, ses: dict, *, version: str = "1", **options) -> dict:
        return self.sign(self.envelope("Notification", Message=json.dumps(ses), **options),
                         version=version)

    def subscription(self, *, subscribe_origin: str | None = None, **options) -> dict:
        token = uuid.uuid4().hex
        url = f"{subscribe_origin or self.origin}/confirm?Token={token}"
        return self.sign(self.envelope(
            "SubscriptionConfirmation", Message="You have chosen to subscribe...", Token=token,
            SubscribeURL=url, **options))


def ses_bounce(*, recipient: str, source: str, hard: bool = True, message_id: str = "") -> dict:
    return {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent" if hard else "Transient",
            "bounceSubType": "General" if hard else "MailboxFull",
            "bouncedRecipients": [{"emailAddress": recipient, "action": "failed",
                                   "status": "5.1.1" if hard else "4.2.2",
                                   "diagnosticCode": "smtp; 550 5.1.1 user unknown" if hard
                                   else "smtp; 452 4.2.2 mailbox full"}],
            "timestamp": datetime.datetime.now(datetime.UTC).isoformat(),
            "feedbackId": str(uuid.uuid4()), "reportingMTA": "dsn; a8-70.smtp-out.amazonses.com",
        },
        "mail": {"timestamp": datetime.datetime.now(datetime.UTC).isoformat(),
                 "source": source, "messageId": str(uuid.uuid4()),
                 "destination": [recipient],
                 "commonHeaders": {"messageId": message_id} if message_id else {}},
    }


def ses_complaint(*, recipient: str, source: str) -> dict:
    return {
        "notificationType": "Complaint",
        "complaint": {"complainedRecipients": [{"emailAddress": recipient}],
                      "timestamp": datetime.datetime.now(datetime.UTC).isoformat(),
                      "feedbackId": str(uuid.uuid4()), "complaintFeedbackType": "abuse",
                      "userAgent": "Yahoo!-Mail-Feedback/2.0"},
        "mail": {"timestamp": datetime.datetime.now(datetime.UTC).isoformat(),
                 "source": source, "messageId": str(uuid.uuid4()), "destination": [recipient]},
    }
