"""Reading ``Content-Length`` frames from a pipe's file descriptor with one buffer.

:class:`FrameReader` reads the pipe in large chunks into a ``bytearray`` and slices frames out
of it, so a message costs no per-header-line ``readline`` and a chunk holding many messages
costs one system call (``readinto`` a buffer kept for it: ``os.read`` would allocate 256 KiB
per read, an ``mmap``, ``mremap`` and ``munmap`` more) and, through :meth:`FrameReader.frames`,
one call from the connection's reader. The sidecar's usual header
(``Content-Length: N`` and nothing else) is parsed inline; anything else (other headers,
other spellings, stray output between frames) falls back to :func:`read_frame`'s line
rules, reading from the same buffer.

``before_block`` is called each time the reader is about to wait for the pipe, i.e. once
every message already received has been handled: the connection wakes its dispatcher
there, after the responses in the same chunk have been resolved.
"""
from __future__ import annotations

import io
import os
import re
from typing import Callable, List, Optional

__all__ = ["FrameReader"]

_PREFIX = b"Content-Length: "
_HEADER = re.compile(rb"Content-Length: (\d{1,20})\r\n\r\n")
_PARTIAL_TAIL = re.compile(rb"\d{0,20}(?:\r(?:\n\r?)?)?\Z")  # what may follow _PREFIX before the header is whole
_CHUNK = 256 * 1024


class FrameReader:
    """Frames from ``fd``; ``read_frame`` is the slow path (see the module docstring)."""

    __slots__ = ("_fd", "_buf", "_pos", "_before_block", "_read_frame", "_readinto", "_chunk")

    def __init__(self, fd: int, read_frame: Callable[..., Optional[bytes]], before_block: Optional[Callable[[], None]] = None):
        self._fd = fd
        self._buf = bytearray()
        self._pos = 0
        self._before_block = before_block
        self._read_frame = read_frame
        self._readinto = io.FileIO(fd, "rb", closefd=False).readinto
        self._chunk = memoryview(bytearray(_CHUNK))  # what one read fills

    def _fill(self, want: int = _CHUNK) -> bool:
        """Append what the pipe has (blocking until something arrives); False at EOF."""
        if self._before_block is not None:
            self._before_block()
        buf = self._buf
        if self._pos:
            del buf[: self._pos]
            self._pos = 0
        if want > _CHUNK:  # the rest of a large body
            chunk = os.read(self._fd, want)
            if not chunk:
                return False
            buf += chunk
            return True
        n = self._readinto(self._chunk)
        if not n:
            return False
        buf += self._chunk[:n]
        return True

    def frame(self, on_junk: Optional[Callable[[bytes], None]] = None) -> Optional[bytes]:
        """The next frame's body; None at EOF (or when the pipe ends inside a body)."""
        while True:
            buf, pos = self._buf, self._pos
            m = _HEADER.match(buf, pos)
            if m is not None:
                start = m.end()
                stop = start + int(m.group(1))
                if stop <= len(buf):
                    self._pos = stop
                    return bytes(buf[start:stop])
                if not self._fill(stop - len(buf)):
                    return None  # short body
                continue
            have = len(buf) - pos
            if have == 0:
                if not self._fill():
                    return None
                continue
            if have < 40:
                head = bytes(buf[pos:])
                if _PREFIX.startswith(head) or (head.startswith(_PREFIX) and _PARTIAL_TAIL.match(head, len(_PREFIX))):
                    if not self._fill():  # the usual header, not all here yet
                        return self._read_frame(self, on_junk)
                    continue
            return self._read_frame(self, on_junk)  # other headers, stray bytes, a bad length

    def frames(self, on_junk: Optional[Callable[[bytes], None]] = None) -> Optional[List[bytes]]:
        """The next frame and every whole frame after it that the buffer holds with the usual
        header, in order: one call per chunk read, not one per frame. At least one body; None at
        EOF. Reads the pipe only when nothing is buffered; a partial or unusual header takes
        :meth:`frame`'s path."""
        out: List[bytes] = []
        match = _HEADER.match
        while True:
            buf, pos = self._buf, self._pos
            have = len(buf)
            if pos == have:
                if out:
                    return out
                if not self._fill():
                    return None
                continue
            m = match(buf, pos)
            while m is not None:
                start = m.end()
                stop = start + int(m.group(1))
                if stop > have:
                    break
                out.append(bytes(buf[start:stop]))
                pos = stop
                m = match(buf, pos) if pos < have else None
            self._pos = pos
            if out:
                return out
            body = self.frame(on_junk)  # a frame not all here yet, or another header: frame's path
            if body is None:
                return None
            out.append(body)

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
