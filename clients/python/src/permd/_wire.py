"""Reply framing shared by the sync and asyncio clients: bytes in, complete lines out."""

from __future__ import annotations

from typing import Optional


class LineBuffer:
    """Bytes received but not yet handed out as lines (a line ends with ``\\n``; ``\\r\\n`` too)."""

    __slots__ = ("_data", "_scanned")

    def __init__(self) -> None:
        self._data = bytearray()
        # Bytes before this offset hold no newline: a long reply arriving in many chunks is
        # scanned once, not once per chunk.
        self._scanned = 0

    def feed(self, chunk: bytes) -> None:
        """Appends received bytes."""
        self._data += chunk

    def pop_line(self) -> Optional[str]:
        """The next complete line without its ending, or None until one has arrived."""
        end = self._data.find(b"\n", self._scanned)
        if end < 0:
            self._scanned = len(self._data)
            return None
        line = bytes(self._data[:end])
        del self._data[: end + 1]
        self._scanned = 0
        if line.endswith(b"\r"):
            line = line[:-1]
        # Replies are ASCII; an error message may quote UTF-8 the request held.
        return line.decode("utf-8", "replace")


def is_busy(reply: str) -> bool:
    """Whether ``reply`` is the ``ERR BUSY`` after which the server closes the connection."""
    return reply.startswith("ERR BUSY")
