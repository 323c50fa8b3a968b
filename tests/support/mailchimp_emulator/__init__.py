"""A Mailchimp Marketing API emulator for tests, demos and benchmarks (see server.Emulator)."""

from .server import DEFAULT_API_KEY, Emulator

__all__ = ["DEFAULT_API_KEY", "Emulator"]
