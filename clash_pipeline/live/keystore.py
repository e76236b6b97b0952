"""Agent keys at rest: AES-GCM under the master key (CLASH_MASTER_KEY), bound to the clone and agent address.

A key is generated here, encrypted before it is stored, and decrypted only to sign. `AgentKey` never shows the key
(not in repr, str, logs or errors); nothing outside this module sees the raw bytes.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eth_account import Account
from eth_account.signers.local import LocalAccount

MASTER_KEY_HINT = ("CLASH_MASTER_KEY must be 32 random bytes, urlsafe base64 (make one with: python -c \"import "
                   "base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())\")")


class KeystoreError(RuntimeError):
    """The master key is missing or wrong, or a stored key does not decrypt (never says the key)."""


class AgentKey:
    """An agent's private key, kept out of every printout."""

    __slots__ = ("_account",)

    def __init__(self, account: LocalAccount) -> None:
        self._account = account

    @classmethod
    def generate(cls) -> AgentKey:
        return cls(Account.from_key(secrets.token_bytes(32)))

    @property
    def address(self) -> str:
        return self._account.address

    @property
    def wallet(self) -> LocalAccount:
        """The signer, for the signing module only."""
        return self._account

    def __repr__(self) -> str:
        return f"AgentKey({self.address}, key hidden)"

    __str__ = __repr__

    def __reduce__(self):
        raise TypeError("an agent key cannot be pickled")


class Keystore:
    def __init__(self, master_key: bytes) -> None:
        self._aead = AESGCM(master_key)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Keystore:
        raw = (os.environ if env is None else env).get("CLASH_MASTER_KEY", "").strip()
        if not raw:
            raise KeystoreError(f"CLASH_MASTER_KEY is not set: {MASTER_KEY_HINT}")
        try:
            key = base64.urlsafe_b64decode(raw.encode())
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != 32:
            raise KeystoreError(f"CLASH_MASTER_KEY is not a valid key: {MASTER_KEY_HINT}")
        return cls(key)

    def __repr__(self) -> str:
        return "Keystore(master key hidden)"

    @staticmethod
    def _aad(clone_id: int, address: str) -> bytes:
        return f"clash-agent|{clone_id}|{address.lower()}".encode()

    def seal(self, clone_id: int, key: AgentKey) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + self._aead.encrypt(nonce, bytes(key.wallet.key), self._aad(clone_id, key.address))

    def open(self, clone_id: int, address: str, sealed: bytes) -> AgentKey:
        try:
            raw = self._aead.decrypt(sealed[:12], sealed[12:], self._aad(clone_id, address))
        except InvalidTag:
            raise KeystoreError(f"the stored agent key of clone {clone_id} does not decrypt with CLASH_MASTER_KEY "
                                "(a different master key, or a tampered row)") from None
        key = AgentKey(Account.from_key(raw))
        if key.address != address:
            raise KeystoreError(f"the stored agent key of clone {clone_id} is not the key of {address}")
        return key
