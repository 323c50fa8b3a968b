"""Delivery through Django's email backends: SMTP when EMAIL_URL is set, files otherwise."""

import smtplib
import socket

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.message import make_msgid

from pipeline.providers.base import EmailProvider, ProviderError, SendReceipt, TransactionalEmail
from pipeline.providers.campaign_email import dkim_signed, sender_domain

# SMTP answers that mean "not now" rather than "never" (RFC 5321 4xx, connection trouble).
_RETRYABLE = (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, socket.timeout, OSError)


class LocalProvider(EmailProvider):
    name = "local"

    def send_transactional(self, message: TransactionalEmail) -> SendReceipt:
        message_id = make_msgid(domain=sender_domain())
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.to],
            headers={"Message-ID": message_id, **message.headers},
            connection=get_connection(fail_silently=False),
        )
        if message.html:
            email.attach_alternative(message.html, "text/html")
        try:
            sent = dkim_signed(email).send()
        except smtplib.SMTPResponseException as error:
            raise ProviderError(
                f"SMTP refused the message: {error.smtp_code} {error.smtp_error!r}",
                retryable=400 <= error.smtp_code < 500,
            ) from error
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            raise ProviderError(
                f"SMTP refused the recipient: {error}",
                retryable=bool(codes) and all(400 <= code < 500 for code in codes),
            ) from error
        except _RETRYABLE as error:
            raise ProviderError(f"SMTP unavailable: {error}", retryable=True) from error
        if sent != 1:
            raise ProviderError("The email backend accepted no message.", retryable=True)
        return SendReceipt(provider=self.name, message_id=message_id)
