"""The engine's methods, settings and verification policy, as the site offers them.

Imports the engine lazily: only planning a run needs it, not every page.
"""

import json
from typing import Any

from remediation.services.errors import ValidationFailed

# What the engine's parsers raise on a value of the wrong shape that they do not check
# themselves (`"attacks": 5`, an int too large for a float): the input is bad, not the site.
PARSE_ERRORS = (TypeError, ValueError, OverflowError)


def _engine() -> Any:
    import remediation.unlearning as engine

    return engine


def method_names() -> list[str]:
    """Every method the engine ships, the default first."""
    engine = _engine()
    names = sorted(engine.METHODS)
    names.remove(engine.DEFAULT_METHOD)
    return [engine.DEFAULT_METHOD, *names]


def default_method() -> str:
    return str(_engine().DEFAULT_METHOD)


def method_defaults(name: str) -> dict[str, Any]:
    return validate_method(name, {})


def validate_method(name: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The method's full settings (defaults filled in); ValidationFailed when unknown/bad."""
    engine = _engine()
    if not isinstance(settings, dict):
        raise ValidationFailed("Settings must be a JSON object.", {"settings": ["Not an object."]})
    try:
        method = engine.get_method(name)
        parsed = method.settings_type.from_dict(settings)
    except engine.EngineError as exc:
        field = "method" if isinstance(exc, engine.UnknownMethodError) else "settings"
        raise ValidationFailed(str(exc), {field: [str(exc)]}) from exc
    except PARSE_ERRORS as exc:
        raise ValidationFailed(f"Bad settings: {exc}", {"settings": [str(exc)]}) from exc
    return _finite(dict(parsed.to_dict()), "settings")


def policy_defaults() -> dict[str, Any]:
    return validate_policy({})


def validate_policy(policy: dict[str, Any]) -> dict[str, Any]:
    """The verification policy with defaults filled in; ValidationFailed when bad."""
    engine = _engine()
    if not isinstance(policy, dict):
        raise ValidationFailed("The policy must be a JSON object.", {"policy": ["Not an object."]})
    try:
        parsed = engine.VerificationPolicy.from_dict(policy)
    except engine.EngineError as exc:
        raise ValidationFailed(str(exc), {"policy": [str(exc)]}) from exc
    except PARSE_ERRORS as exc:
        raise ValidationFailed(f"Bad policy: {exc}", {"policy": [str(exc)]}) from exc
    return _finite(dict(parsed.to_dict()), "policy")


def _finite(values: dict[str, Any], field: str) -> dict[str, Any]:
    """Settings are stored as JSON and served as strict JSON, which has no infinity (and
    the engine reads the string "1e400" as one): refuse it here, not in the database."""
    try:
        json.dumps(values, allow_nan=False)
    except ValueError:
        message = f"The {field} must hold finite numbers."
        raise ValidationFailed(message, {field: ["Not a finite number."]}) from None
    return values
