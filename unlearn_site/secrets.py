"""Secrets that come from the environment or from a file under var/ created on first run.

Never from the repository: a fresh checkout has none, and each site gets its own.
"""

import base64
import os
import secrets
from pathlib import Path


def secret_from_env_or_file(env_name: str, path: Path, nbytes: int = 32) -> str:
    """Return the secret in $env_name, else the one stored at path, creating it once."""
    value = os.environ.get(env_name)
    if value:
        return value
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = base64.urlsafe_b64encode(secrets.token_bytes(nbytes)).decode()
    # O_EXCL: two processes starting at once must not both write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value
