"""SHA-256 for content keys, without hashlib's start-up cost where Python has it built in.

hashlib loads OpenSSL (about 2 ms), which every `templates` run would pay for
two digests; CPython's own _sha256 module (3.11) gives the same digest.
"""

from __future__ import annotations


def sha256_hex(data: bytes) -> str:
    try:
        from _sha256 import sha256
    except ImportError:   # another Python: hashlib's is the same function
        from hashlib import sha256
    return sha256(data).hexdigest()
