"""Sign-In with Ethereum (EIP-4361): the message, its parser, and signature recovery (EOA personal_sign, with
eth-account). No web framework here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import is_address, to_checksum_address

PREAMBLE = " wants you to sign in with your Ethereum account:"
FIELDS = {"URI": "uri", "Version": "version", "Chain ID": "chain_id", "Nonce": "nonce", "Issued At": "issued_at",
          "Expiration Time": "expiration_time", "Not Before": "not_before", "Request ID": "request_id"}
NONCE = re.compile(r"^[A-Za-z0-9]{8,}$")


class SiweError(ValueError):
    """A message that is not EIP-4361, or whose signature does not match: `field` names what failed."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


@dataclass(frozen=True)
class SiweMessage:
    domain: str
    address: str
    statement: str | None
    uri: str
    chain_id: int
    nonce: str
    issued_at: str
    expiration_time: str | None = None
    not_before: str | None = None
    version: str = "1"

    def text(self) -> str:
        lines = [f"{self.domain}{PREAMBLE}", self.address, ""]
        if self.statement:
            lines += [self.statement, ""]
        lines += [f"URI: {self.uri}", f"Version: {self.version}", f"Chain ID: {self.chain_id}",
                  f"Nonce: {self.nonce}", f"Issued At: {self.issued_at}"]
        if self.expiration_time:
            lines.append(f"Expiration Time: {self.expiration_time}")
        if self.not_before:
            lines.append(f"Not Before: {self.not_before}")
        return "\n".join(lines)


def iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_time(value: str, field: str) -> int:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise SiweError(field, f"{field} is not an RFC 3339 time: {value!r}") from None
    if moment.tzinfo is None:
        raise SiweError(field, f"{field} needs a time zone: {value!r}")
    return int(moment.timestamp() * 1000)


def parse(text: str) -> SiweMessage:
    """Parse an EIP-4361 message; SiweError names the first malformed part."""
    lines = text.split("\n")
    if len(lines) < 8 or not lines[0].endswith(PREAMBLE):
        raise SiweError("message", "not an EIP-4361 message (no '... wants you to sign in' first line)")
    domain, address = lines[0][: -len(PREAMBLE)], lines[1]
    if not is_address(address) or to_checksum_address(address) != address:
        raise SiweError("message.address", "the address must be an EIP-55 checksummed address")
    rest, statement = lines[3:], None
    if lines[2] != "":
        raise SiweError("message", "a blank line must follow the address")
    if rest and not rest[0].startswith("URI: "):
        statement, rest = rest[0], rest[1:]
        if not rest or rest[0] != "":
            raise SiweError("message.statement", "a blank line must follow the statement")
        rest = rest[1:]
    values: dict[str, str] = {}
    for line in rest:
        key, sep, value = line.partition(": ")
        if not sep or key not in FIELDS:
            raise SiweError("message", f"unexpected line in the message: {line[:60]!r}")
        values[FIELDS[key]] = value
    for required in ("uri", "version", "chain_id", "nonce", "issued_at"):
        if required not in values:
            raise SiweError(f"message.{required}", f"the message has no {required}")
    if values["version"] != "1":
        raise SiweError("message.version", "Version must be 1")
    if not values["chain_id"].isdigit():
        raise SiweError("message.chainId", "Chain ID must be an integer")
    if not NONCE.match(values["nonce"]):
        raise SiweError("message.nonce", "Nonce must be at least 8 alphanumeric characters")
    return SiweMessage(domain, address, statement, values["uri"], int(values["chain_id"]), values["nonce"],
                       values["issued_at"], values.get("expiration_time"), values.get("not_before"))


def recover(text: str, signature: str) -> str:
    """The EIP-55 address that signed `text` with personal_sign; SiweError when the signature is malformed."""
    try:
        return Account.recover_message(encode_defunct(text=text), signature=signature)
    except Exception as error:  # eth-account raises several types for a malformed signature
        raise SiweError("signature", f"the signature cannot be verified: {type(error).__name__}") from None
