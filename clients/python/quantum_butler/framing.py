"""Reading ``Content-Length`` frames from a pipe's file descriptor with one buffer.

:class:`FrameReader` reads the pipe in large chunks (``os.read``) into a ``bytearray`` and
slices frames out of it, so a message costs no per-header-line ``readline`` and a chunk
holding many messages costs one system call. The sidecar's usual header
(``Content-Length: N`` and nothing else) is parsed inline; anything else (other headers,
other spellings, stray output between frames) falls back to :func:`read_frame`'s line
rules, reading from the same buffer.

``before_block`` is called each time the reader is about to wait for the pipe, i.e. once
every message already received has been handled: the connection wakes its dispatcher
there, after the responses in the same chunk have been resolved.
"""
from __future__ import annotations

import os
from typing import Callable, Optional

__all__ = ["FrameReader"]

_PREFIX = b"Content-Length: "
_CHUNK = 256 * 1024


class FrameReader:
    """Frames from ``fd``; ``read_frame`` is the slow path (see the module docstring)."""

    __slots__ = ("_fd", "_buf", "_pos", "_before_block", "_read_frame")

    def __init__(self, fd: int, read_frame: Callable[..., Optional[bytes]], before_block: Optional[Callable[[], None]] = None):
        self._fd = fd
        self._buf = bytearray()
        self._pos = 0
        self._before_block = before_block
        self._read_frame = read_frame

    def _fill(self, want: int = _CHUNK) -> bool:
        """Append what the pipe has (blocking until something arrives); False at EOF."""
        if self._before_block is not None:
            self._before_block()
        buf = self._buf
        if self._pos:
            del buf[: self._pos]
            self._pos = 0
        chunk = os.read(self._fd, max(want, _CHUNK))
        if not chunk:
            return False
        buf += chunk
        return True

    def frame(self, on_junk: Optional[Callable[[bytes], None]] = None) -> Optional[bytes]:
        """The next frame's body; None at EOF (or when the pipe ends inside a body)."""
        while True:
            buf, pos = self._buf, self._pos
            have = len(buf) - pos
            if buf.startswith(_PREFIX, pos):
                end = buf.find(b"\r\n", pos + 16, pos + 40)
                if end < 0:
                    if have < 40:
                        if not self._fill():
                            return self._read_frame(self, on_junk)  # reports what is left
                        continue
                    return self._read_frame(self, on_junk)
                digits = buf[pos + 16 : end]
                if not digits.isdigit():
                    return self._read_frame(self, on_junk)  # a bad length: read_frame says so
                if len(buf) - end < 4:
                    if not self._fill():
                        return self._read_frame(self, on_junk)
                    continue
                if not buf.startswith(b"\r\n\r\n", end):
                    return self._read_frame(self, on_junk)  # more headers
                start = end + 4
                stop = start + int(digits)
                if stop <= len(buf):
                    self._pos = stop
                    return bytes(buf[start:stop])
                if not self._fill(stop - len(buf)):
                    return None  # short body
                continue
            if have == 0:
                if not self._fill():
                    return None
                continue
            if have < 16 and _PREFIX.startswith(bytes(buf[pos:])):
                if not self._fill():
                    return self._read_frame(self, on_junk)
                continue
            return self._read_frame(self, on_junk)

    # The stream interface read_frame uses for the slow path.

    def readline(self, limit: int = -1) -> bytes:
        while True:
            buf, pos = self._buf, self._pos
            stop = len(buf) if limit < 0 else min(len(buf), pos + limit)
            nl = buf.find(b"\n", pos, stop)
            if nl >= 0:
                self._pos = nl + 1
                return bytes(buf[pos : nl + 1])
            if stop - pos == limit or not self._fill():
                self._pos = stop
                return bytes(buf[pos:stop])

    def read(self, n: int) -> bytes:
        while len(self._buf) - self._pos < n:
            if not self._fill(n - (len(self._buf) - self._pos)):
                break
        buf, pos = self._buf, self._pos
        stop = min(len(buf), pos + n)
        self._pos = stop
        return bytes(buf[pos:stop])
