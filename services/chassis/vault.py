"""Encryption at rest of confidential data (``cryptography`` Fernet).

Keys are a comma-separated list (or a list): the first encrypts, all decrypt, so a key
rotates by putting a new one first, re-encrypting (``rotate``), then dropping the old one.
Values are JSON: text, numbers, lists or objects; ``None`` stays ``None``.
"""

import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class Vault:
    def __init__(self, keys: str | list[str]):
        if isinstance(keys, str):
            keys = keys.split(",")
        keys = [key.strip() for key in keys if key and key.strip()]
        if not keys:
            raise ValueError("at least one Fernet key is needed")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    def encrypt(self, value) -> str | None:
        if value is None:
            return None
        return self._fernet.encrypt(json.dumps(value, ensure_ascii=False).encode()).decode()

    def decrypt(self, token: str | None):
        if token is None:
            return None
        try:
            return json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken as exc:
            raise RuntimeError("data cannot be decrypted with the configured keys") from exc

    def rotate(self, token: str) -> str:
        """The same plaintext encrypted with the first key."""
        return self._fernet.rotate(token.encode()).decode()
