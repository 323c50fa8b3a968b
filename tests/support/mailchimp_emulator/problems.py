"""Mailchimp's error shape: application/problem+json with type, title, status, detail, instance."""

import uuid

ERROR_DOCS = "https://mailchimp.com/developer/marketing/docs/errors/"


class Problem(Exception):
    """Raised by the emulated API; the server turns it into a problem+json answer."""

    def __init__(self, status: int, title: str, detail: str):
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail

    def body(self) -> dict:
        return {
            "type": ERROR_DOCS,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": str(uuid.uuid4()),
        }


def not_found() -> Problem:
    return Problem(404, "Resource Not Found", "The requested resource could not be found.")


def invalid(detail: str) -> Problem:
    return Problem(400, "Invalid Resource", detail)


def bad_request(detail: str) -> Problem:
    return Problem(400, "Bad Request", detail)
