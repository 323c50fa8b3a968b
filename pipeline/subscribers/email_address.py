"""One normal form for every email address we store, compare or send to.

``normalize_email`` strips surrounding whitespace, checks the syntax with email-validator (no DNS
look-up: a subscribe must not wait on the network), refuses internationalized local parts (neither
Mailchimp nor most SMTP relays accept SMTPUTF8), encodes the domain as IDNA and lower-cases the
whole address. Lower-casing the local part is, strictly, lossy; in practice no mailbox provider
distinguishes case, and one person typing ``Ann@`` and ``ann@`` must be one subscriber.
"""

import email_validator

MAX_LENGTH = 254  # RFC 5321 path limit less the angle brackets; Mailchimp's limit too


class InvalidEmail(ValueError):
    """The address cannot be used; ``str()`` is a message fit to show the person who typed it."""


def normalize_email(raw: str) -> str:
    if not isinstance(raw, str):
        raise InvalidEmail("The email address must be a string.")
    candidate = raw.strip()
    if not candidate:
        raise InvalidEmail("An email address is required.")
    if len(candidate) > MAX_LENGTH * 4:
        # Refuse before parsing: nobody types a kilobyte-long address.
        raise InvalidEmail(f"The email address is too long (at most {MAX_LENGTH} characters).")
    try:
        checked = email_validator.validate_email(
            candidate,
            check_deliverability=False,
            allow_smtputf8=False,
            allow_quoted_local=False,
            allow_domain_literal=False,
            allow_display_name=False,
        )
    except email_validator.EmailNotValidError as error:
        raise InvalidEmail(f"Invalid email address: {error}") from None
    normalized = f"{checked.local_part}@{checked.ascii_domain}".lower()
    if len(normalized) > MAX_LENGTH:
        raise InvalidEmail(f"The email address is too long (at most {MAX_LENGTH} characters).")
    return normalized
