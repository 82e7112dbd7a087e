"""The project key: an HMAC-SHA256 signature on every run-log row and on the index's log head.

The hash chain shows that rows were edited, but anyone can recompute it after removing a row.
A key kept outside the project folder closes that: without it a rewritten row cannot carry a
valid ``row_mac``. The key is optional; without one every row's ``row_mac`` is empty and the
log heads (see ``_heads``) still catch a shortened log.

Where the key comes from, first match wins:

- ``FILMSLATE_LOG_KEY``: the key itself (any text), for every project opened in that shell;
- ``$XDG_CONFIG_HOME/filmslate/keys/<project id>`` (``~/.config`` when unset): a JSON file
  ``{"key": hex, "project": folder}``, readable by its owner only. The project id is the run
  id of the log's first row (the ``init`` row), so a copied or moved project keeps its key.
  When no file carries that id, a file made for this folder is used, so a log rewritten from
  its first row cannot shed its key by changing its id.

``FILMSLATE_SIGN_LOG=1`` at ``slate init`` creates the key file with the log's first row.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from ..core._errors import ProjectError

KEY_ENV = "FILMSLATE_LOG_KEY"
SIGN_ENV = "FILMSLATE_SIGN_LOG"


def keys_dir() -> Path:
    """Where project key files live: the user's config folder, never the project."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "filmslate" / "keys"


@dataclass
class Signer:
    """Signs and checks rows for one project; a signer without a key signs nothing."""

    root: Path
    key: bytes | None = None
    source: str = ""
    create: bool = False

    def mac(self, row_hash: str) -> str:
        """The signature of one row ('' without a key); the row hash covers every cell."""
        return self._mac(f"row:{row_hash}")

    def head_mac(self, rows: int, row_hash: str) -> str:
        """The signature of a log head (domain-separated, so a row's cannot stand in)."""
        return self._mac(f"head:{rows}:{row_hash}")

    def _mac(self, text: str) -> str:
        if self.key is None:
            return ""
        return hmac.new(self.key, text.encode(), hashlib.sha256).hexdigest()

    def valid(self, row_hash: str, mac: str) -> bool:
        """True when ``mac`` is this key's signature of the row."""
        return self.key is not None and hmac.compare_digest(self.mac(row_hash), mac)

    def first_row(self, run_id: str) -> None:
        """The log's first row is being chained: make the project's key now if asked to."""
        if self.key is None and self.create:
            path = keys_dir() / run_id
            try:
                self.key = _create_key_file(path, self.root)
            except OSError as exc:
                raise ProjectError(
                    f"cannot create the project key {path} ({exc.strerror}): make "
                    f"{path.parent} writable, or unset {SIGN_ENV} to create an unsigned project",
                    path=str(path),
                ) from None
            self.source = str(path)


def load_signer(root: Path, first_run_id: str | None) -> Signer:
    """The project's signer: from the environment, its key file, or none."""
    signer = Signer(Path(root).resolve(), create=os.environ.get(SIGN_ENV, "") not in ("", "0"))
    if text := os.environ.get(KEY_ENV):
        signer.key, signer.source = text.encode(), f"${KEY_ENV}"
        return signer
    folder = keys_dir()
    candidates = [folder / first_run_id] if first_run_id else []
    if folder.is_dir():
        candidates += sorted(p for p in folder.iterdir() if p.name != first_run_id)
    for path in candidates:
        info = _read_key_file(path)
        if info and (path.name == first_run_id or info.get("project") == str(signer.root)):
            signer.key, signer.source = bytes.fromhex(info["key"]), str(path)
            break
    return signer


def _read_key_file(path: Path) -> dict[str, str] | None:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        bytes.fromhex(info["key"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return info if isinstance(info, dict) else None


def _create_key_file(path: Path, root: Path) -> bytes:
    """Write a new random key, readable by its owner only; an existing file is kept."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    body = json.dumps({"key": key.hex(), "project": str(root)})
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        info = _read_key_file(path)
        if info is None:
            raise
        return bytes.fromhex(info["key"])
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(body)
        fh.flush()
        os.fsync(fh.fileno())
    return key


class IndexConnection(sqlite3.Connection):
    """The index connection, carrying the project's signer so every append can sign."""

    signer: Signer | None = None


def signer_of(conn: sqlite3.Connection) -> Signer | None:
    """The signer attached to an index connection (None for a bare connection)."""
    return conn.signer if isinstance(conn, IndexConnection) else None
