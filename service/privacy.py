"""What the service keeps of a paste, stripped of what is nobody else's business.

Normalised lines already lose paths, addresses, GUIDs and numbers, but a signature still keeps
lower-case words, and a user name, a workstation name or a password is a lower-case word once
normalised. Lines are passed through `scrub` before they are written anywhere (the activity
log, feedback records), and clients are remembered only as keyed hashes of their address, so
a count of distinct clients never stores who they were.
"""

from __future__ import annotations

import hashlib
import re

# Who and which machine: the word after `user`, `account name`, `logon`... and, after `host`,
# `computer`, `on`, `from`..., a word that looks like a machine name (letters and digits:
# wks0412, srv01). Secrets never get this far: the normaliser masks them (normalize.py).
PERSON_WORDS = r"for user|user name|username|user|account name|logon name|login name|login"
HOST_WORDS = r"hostname|host|computer|machine|server|client|workstation|domain|node|on|from|to"
NAMED_PERSON = re.compile(rf"\b({PERSON_WORDS}) (?!<)([a-z][a-z0-9._$-]*)")
NAMED_HOST = re.compile(rf"\b({HOST_WORDS}) (?!<)([a-z][a-z0-9_-]*\d[a-z0-9_-]*)\b")
# Words that follow `user`, `login`... in ordinary log lines and are nobody's name.
_COMMON_FOLLOWERS = (
    "a an the this that default system administrator administrators guest everyone any all "
    "local remote not no is was has have had been being be can cannot could does did do must "
    "will would should may failed failure fails error errors with without name names id ids "
    "account accounts profile profiles rights right interface mode data settings setting group "
    "groups credentials logon login session sessions context token to in and or of for on "
    "from at by as policy request requests object objects information info type"
)
COMMON_FOLLOWERS = frozenset(_COMMON_FOLLOWERS.split())


def scrub(signature: str) -> str:
    """A normalised line with user names and machine names replaced by placeholders."""
    text = NAMED_PERSON.sub(_person, signature)
    return NAMED_HOST.sub(lambda m: f"{m.group(1)} <host>", text)


def _person(match: re.Match[str]) -> str:
    word = match.group(2)
    if word in COMMON_FOLLOWERS:
        return match.group(0)
    return f"{match.group(1)} <user>"


def is_private(signature: str) -> bool:
    """True when the line names a secret, a person or a machine: never learned from."""
    return "<secret>" in signature or scrub(signature) != signature


def client_hash(address: str, key: bytes) -> str:
    """A stable, keyed stand-in for a client address: counts distinct clients, names none."""
    return hashlib.blake2b(address.encode("utf-8"), key=key, digest_size=8).hexdigest()
