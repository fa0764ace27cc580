"""Errors a service raises; views and the API turn them into clear messages."""


class ServiceError(Exception):
    """A refusal the user can understand; the message is shown as is."""


class NotAllowed(ServiceError):
    """The actor's role or relation to the object does not allow this action."""


class InvalidTransition(ServiceError):
    """The object is not in a state this action applies to (or someone else won a race)."""


class ValidationFailed(ServiceError):
    """The input is malformed; nothing was changed."""

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or {}


class ItemsUnavailable(ServiceError):
    """The request's key was shredded: its items can no longer be read."""
