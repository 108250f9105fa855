"""JSON-RPC 2.0 over the sidecar's stdin/stdout, with LSP ``Content-Length`` framing.

:class:`Connection` spawns ``node <cli> --stdio``, runs the LSP lifecycle
(``initialize`` + ``initialized``), and multiplexes requests from any number of
threads:

* one lock serialises writes, so a header and its body never interleave;
* a reader thread reads the pipe in large chunks, slices frames out of them
  (:mod:`.framing`) and resolves one ``concurrent.futures.Future`` per request
  (integer ids);
* notifications are handed to a dispatcher thread, so a slow callback never
  stalls the reader (and therefore never delays responses). The hand-over
  (:mod:`.handover`) wakes the dispatcher at most once per chunk read, after the
  responses in that chunk are resolved, and the dispatcher takes everything
  queued; once woken it lingers (``dispatch_linger``) while more gathers, so a
  stream of calls costs about one wake per linger; ``butler/provenanceRuns``
  (and ``butler/provenanceBatch``) bodies are parsed on the dispatcher thread,
  those it takes at once in one go (one JSON array of their runs, or of their
  params, see :meth:`Connection._deliver_raw_batches`), and a run's events rebuilt
  as the ``butler/provenance`` params they stand for (:func:`run_events`), each
  handed to the callback as it is built;
* a thread drains stderr into a bounded buffer (optionally forwarding each line
  to a ``logging.Logger``);
* notifications read and not yet taken by the dispatcher are bounded
  (``notification_backlog`` bytes, :mod:`.backlog`): past it the reader reads no more until
  the dispatcher catches up, so a slow callback slows the host's calls instead of
  filling memory;
* when the process dies, every pending request fails with :class:`SidecarDied`
  carrying the exit code and the tail of stderr;
* ``close()`` walks the shutdown ladder: ``shutdown`` → ``exit`` → close stdin →
  wait → SIGTERM → wait → SIGKILL.

Standard library only; Python 3.9+.
"""
from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import datetime
import decimal
import enum
import itertools
import json
import logging
import os
import shutil
import subprocess
import threading
import time
import uuid
from itertools import repeat
from typing import Any, Callable, Deque, Dict, List, Mapping, Optional, Sequence, Tuple

from json.encoder import c_make_encoder as _c_make_encoder, encode_basestring as _encode_str

from .backlog import Backlog
from .framing import FrameReader
from .handover import HandOver
from .errors import (
    ProtocolError,
    RequestTimeout,
    SidecarDied,
    error_from_response,
)

__all__ = [
    "Connection",
    "RequestFuture",
    "default_cli_path",
    "default_node_path",
    "find_cli",
    "PROTOCOL_VERSION",
    "json_default",
    "encode_message",
    "message_decoder",
    "frame",
    "read_frame",
]

PROTOCOL_VERSION = "1.0"
CLIENT_NAME = "quantum-butler-python"
CLIENT_VERSION = "0.1.0"

_log = logging.getLogger("quantum_butler")

_MAX_HEADER_LINE = 64 * 1024


#: A provenance event, and the forms of the events written together that replace it for a
#: client declaring ``capabilities.provenanceBatches`` or ``capabilities.provenanceRuns`` (the
#: compact form, which this one declares by default).
PROVENANCE = "butler/provenance"
PROVENANCE_BATCH = "butler/provenanceBatch"
PROVENANCE_RUNS = "butler/provenanceRuns"
#: How the sidecar begins a batch's body (and it ends it with the params and ``}``): the reader
#: hands such a body to the dispatcher unparsed (it parses it there, off the path to the
#: responses read behind it, runs of them in one go).
_BATCH_PREFIX = b'{"jsonrpc":"2.0","method":"butler/provenanceBatch","params":'
_RUNS_PREFIX = b'{"jsonrpc":"2.0","method":"butler/provenanceRuns","params":'
#: Where the two prefixes first differ, and the byte there in a runs body.
_FORM_AT = len(b'{"jsonrpc":"2.0","method":"butler/provenance')
_RUNS_BYTE = _RUNS_PREFIX[_FORM_AT]
#: A runs body as the sidecar writes it is ``_RUNS_HEAD + runs + _RUNS_TAIL``, ``runs`` the members
#: of the params' only array: the dispatcher parses such bodies' runs as ``[[runs1],[runs2],...]``.
_RUNS_HEAD = _RUNS_PREFIX + b'{"runs":['
_RUNS_TAIL = b"]}}"


def run_events(params: Mapping[str, Any]) -> List[Dict[str, Any]]:
    """The events of a batch's params: ``events`` of a ``butler/provenanceBatch``, or those of the
    ``runs`` of a ``butler/provenanceRuns``, each rebuilt as exactly the ``butler/provenance``
    params it stands for (members in that message's order: sessionId, seq, event, datasetId,
    datasetType, time, then the event's own)."""
    runs = params.get("runs")
    if runs is None:
        return params.get("events", ())
    out: List[Dict[str, Any]] = []
    add = out.append
    for run in runs:
        session_id, seq, time_ = run["sessionId"], run["seq"], run["time"]
        for t in run["events"]:
            if len(t) == 3:
                add({"sessionId": session_id, "seq": seq, "event": t[0], "datasetId": t[1], "datasetType": t[2], "time": time_})
            else:
                event = {"sessionId": session_id, "seq": seq, "event": t[0], "datasetId": t[1], "datasetType": t[2], "time": time_}
                event.update(t[3])
                add(event)
            seq += 1
    return out


def _dev_cli_path() -> str:
    """The checkout's ``dist/src/cli.js`` next to this package (clients/python/quantum_butler)."""
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, "..", "..", "..", "dist", "src", "cli.js"))


def find_cli(start: Optional[str] = None) -> Tuple[str, str]:
    """Find the sidecar's CLI: ``(path, how it was found)``.

    In order: ``$QUANTUM_BUTLER_CLI``; ``quantum-butler`` on ``PATH``; ``node_modules/.bin/quantum-butler``
    in ``start`` (default: the working directory) or a folder above it (a project that ran
    ``npm install quantum-butler``); the checkout's ``dist/src/cli.js`` when this package runs
    from a quantum-butler checkout. npm's links are followed to the JavaScript file, which is
    run with Node. Raises FileNotFoundError naming every place tried.
    """
    tried: List[str] = []
    env = os.environ.get("QUANTUM_BUTLER_CLI")
    if env:
        return os.path.abspath(env), "QUANTUM_BUTLER_CLI"
    tried.append("$QUANTUM_BUTLER_CLI (unset)")
    on_path = shutil.which("quantum-butler")
    if on_path:
        return os.path.realpath(on_path), "PATH (%s)" % on_path
    tried.append("quantum-butler on PATH")
    folder = os.path.abspath(start or os.getcwd())
    while True:
        candidate = os.path.join(folder, "node_modules", ".bin", "quantum-butler")
        if os.path.isfile(candidate):
            return os.path.realpath(candidate), "node_modules/.bin (%s)" % candidate
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    tried.append("node_modules/.bin/quantum-butler from %s upward" % os.path.abspath(start or os.getcwd()))
    dev = _dev_cli_path()
    if os.path.isfile(dev):
        return dev, "development checkout (%s)" % dev
    tried.append(dev)
    raise FileNotFoundError(
        "quantum-butler CLI not found; tried: %s. Install it (`npm install quantum-butler` in this "
        "project, or globally), set QUANTUM_BUTLER_CLI, or pass cli_path=" % "; ".join(tried)
    )


def default_cli_path() -> str:
    """The path :func:`find_cli` finds (kept for callers that want only the path); the
    checkout's ``dist/src/cli.js`` when nothing is found, so the error names it."""
    try:
        return find_cli()[0]
    except FileNotFoundError:
        return _dev_cli_path()


def default_node_path() -> str:
    """``$QUANTUM_BUTLER_NODE``, else ``node`` from PATH."""
    return os.environ.get("QUANTUM_BUTLER_NODE") or shutil.which("node") or "node"


EXTRA_CA_CERTS_VAR = "QUANTUM_BUTLER_EXTRA_CA_CERTS"


def sidecar_env(env: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """A copy of ``env`` (default ``os.environ``) with NODE_EXTRA_CA_CERTS moved to
    QUANTUM_BUTLER_EXTRA_CA_CERTS, as the Node client does (src/client/sidecar-env.ts)."""
    out = dict(os.environ if env is None else env)
    extra, ours = out.get("NODE_EXTRA_CA_CERTS"), out.get(EXTRA_CA_CERTS_VAR)
    if extra and (not ours or ours == extra):
        out[EXTRA_CA_CERTS_VAR] = out.pop("NODE_EXTRA_CA_CERTS")
    return out


def json_default(obj: Any) -> Any:
    """JSON encoding for what daf_butler's ``model_dump()`` (python mode) leaves in dicts."""
    if isinstance(obj, uuid.UUID):
        return str(obj)
    if isinstance(obj, (datetime.datetime, datetime.date, datetime.time)):
        return obj.isoformat()
    if isinstance(obj, (set, frozenset)):
        try:
            return sorted(obj)
        except TypeError:
            return list(obj)
    if isinstance(obj, decimal.Decimal):
        return float(obj)
    if isinstance(obj, enum.Enum):
        return obj.value
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    dump = getattr(obj, "model_dump", None)  # pydantic v2
    if callable(dump):
        return dump(mode="json")
    dump = getattr(obj, "dict", None)  # pydantic v1
    if callable(dump):
        return dump()
    if hasattr(obj, "__fspath__"):
        return os.fspath(obj)
    raise TypeError("Object of type %s is not JSON serializable" % type(obj).__name__)


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=json_default)


def _c_encoder(markers: Optional[Dict[int, Any]]) -> Any:
    """json's C encoder with ``_ENCODER``'s options; ``markers`` None: no circular-reference check."""
    return _c_make_encoder(markers, json_default, _encode_str, None, ":", ",", False, False, False)


#: Without markers the C encoder keeps no state between calls, so this one serves every message
#: on every thread (one with markers is made per call: its dict is filled while it encodes), and
#: skips the marker dict's insert and delete per dict and list, which a put's nested params
#: (five of them against an echo's three) pay more of than the echo.
_UNMARKED = _c_encoder(None) if _c_make_encoder is not None else None


def encode_message(msg: Mapping[str, Any]) -> bytes:
    """The UTF-8 JSON body of one message (raises ValueError/TypeError on unencodable values):
    ``_ENCODER.encode(msg)``, calling json's C encoder directly (its Python layers cost more).

    A circular reference makes the unmarked encoder recurse until RecursionError; the message is
    then encoded again with markers, so that it fails as json fails (ValueError: Circular
    reference detected), or with RecursionError again if it is only nested too deep."""
    if _UNMARKED is None or not isinstance(msg, dict):
        return _ENCODER.encode(msg).encode("utf-8")
    try:
        chunks = _UNMARKED(msg, 0)
    except RecursionError:
        chunks = _c_encoder({})(msg, 0)
    return "".join(chunks).encode("utf-8")


def message_decoder() -> Callable[[bytes], Any]:
    """``json.loads`` for one thread's bodies, calling json's C scanner directly; what it does not
    take whole (whitespace around, bad JSON) goes to ``json.loads``. A scanner has a memo: one per thread."""
    scan, loads = json.JSONDecoder().scan_once, json.loads

    def decode(body: bytes) -> Any:
        text = body.decode("utf-8")
        try:
            obj, end = scan(text, 0)
        except StopIteration:
            return loads(text)
        if end != len(text):
            return loads(text)
        return obj

    return decode


def frame(body: bytes) -> bytes:
    """``Content-Length`` header for a body (the byte length, not the character count)."""
    return b"Content-Length: %d\r\n\r\n" % len(body)


def read_frame(stream: Any, on_junk: Optional[Callable[[bytes], None]] = None) -> Optional[bytes]:
    """Read one frame's body from a binary stream; None at EOF (or on a short body).

    Header names are matched case-insensitively and headers other than
    Content-Length are ignored. Lines that are not headers (stray output) are
    passed to ``on_junk`` and skipped. A bad Content-Length raises ProtocolError.
    """
    length: Optional[int] = None
    seen_header = False
    while True:
        line = stream.readline(_MAX_HEADER_LINE)
        if not line:
            return None
        stripped = line.strip()
        if not stripped:
            if seen_header:
                if length is not None:
                    break
                seen_header = False  # a header block without Content-Length: skip it
                if on_junk is not None:
                    on_junk(b"<header block without Content-Length>" + line)
                continue
            if on_junk is not None:
                on_junk(line)
            continue
        name, sep, value = stripped.partition(b":")
        if not sep:
            if on_junk is not None:
                on_junk(line)
            continue
        seen_header = True
        if name.strip().lower() == b"content-length":
            try:
                length = int(value.strip())
            except ValueError:
                raise ProtocolError("bad Content-Length header: %r" % (line,)) from None
            if length < 0:
                raise ProtocolError("negative Content-Length header: %r" % (line,))
    body = stream.read(length) if length else b""
    if len(body) < length:
        return None
    return body


class RequestFuture(concurrent.futures.Future):
    """The future of one request. ``cancel()`` also sends ``$/cancelRequest``."""

    def __init__(self, connection: "Connection", request_id: int, method: str):
        super().__init__()
        self.request_id = request_id
        self.method = method
        self._connection = connection
        self._thread = threading.get_ident()  # a request made by a callback: see Connection._callback_awaits_answer

    def cancel(self) -> bool:
        if self.done():
            return False
        if not self._connection._abandon(self.request_id):
            return False  # the reader owns it and resolves it right now
        return super().cancel()


def _without(callbacks: Tuple[Any, ...], callback: Any) -> Tuple[Any, ...]:
    """``callbacks`` without the first ``callback``."""
    for i, cb in enumerate(callbacks):
        if cb == callback:
            return callbacks[:i] + callbacks[i + 1 :]
    return callbacks


class _Barrier:
    __slots__ = ("event",)

    def __init__(self) -> None:
        self.event = threading.Event()


_STOP = object()


class Connection:
    """A spawned sidecar and the JSON-RPC connection to it.

    Parameters
    ----------
    cli_path:
        The built CLI (default: what :func:`find_cli` finds; ``cli_source`` says where).
    node:
        The node executable (default: ``$QUANTUM_BUTLER_NODE`` or ``node`` on PATH).
    args:
        Extra sidecar arguments after ``--stdio`` (e.g. ``["--max-inline-bytes=1000"]``).
    node_args:
        Options for node itself (e.g. ``["--inspect"]``).
    env, cwd:
        For the child process; ``env`` is used as given (default: :func:`sidecar_env`).
    stderr_logger:
        If given, each stderr line is also logged there; the sidecar's JSON log lines
        are logged at their own level, other lines at DEBUG.
    stderr_limit:
        Bytes of stderr kept for :meth:`stderr_tail` and :class:`SidecarDied`.
    timeout:
        Default per-request timeout in seconds (None: wait forever).
    watch_parent:
        Send our pid as ``processId`` so the sidecar exits if this process dies.
    new_session:
        POSIX: start the sidecar in its own session, so a Ctrl-C meant for the host
        does not also kill it (the host then shuts it down with :meth:`close`).
    initialize:
        Run ``initialize`` + ``initialized`` now (default). Otherwise call :meth:`initialize`.
    dispatch_linger:
        Seconds the dispatcher pauses after delivering while notifications gather (see
        :mod:`.handover`); callbacks may run up to this long after their call returned.
    notification_backlog:
        Bytes of notifications read and not yet taken by the dispatcher past which the reader
        stops reading until it catches up (see :mod:`.backlog`; default 1 MiB).
    """

    def __init__(
        self,
        cli_path: Optional[str] = None,
        *,
        node: Optional[str] = None,
        args: Sequence[str] = (),
        node_args: Sequence[str] = (),
        env: Optional[Mapping[str, str]] = None,
        cwd: Optional[str] = None,
        stderr_logger: Optional[logging.Logger] = None,
        stderr_limit: int = 64 * 1024,
        timeout: Optional[float] = None,
        client_name: str = CLIENT_NAME,
        capabilities: Optional[Mapping[str, Any]] = None,
        initialization_options: Optional[Mapping[str, Any]] = None,
        watch_parent: bool = True,
        new_session: bool = False,
        initialize: bool = True,
        initialize_timeout: Optional[float] = 30.0,
        dispatch_linger: float = 0.005,
        notification_backlog: int = 1 << 20,
    ):
        if cli_path:
            found, how = os.path.abspath(cli_path), "cli_path argument"
        else:
            found, how = find_cli()
        #: The CLI run, and how it was found: "cli_path argument", "QUANTUM_BUTLER_CLI",
        #: "PATH (...)", "node_modules/.bin (...)" or "development checkout (...)".
        self.cli_path, self.cli_source = found, how
        if not os.path.isfile(self.cli_path):
            raise FileNotFoundError(
                "quantum-butler CLI not found at %s (from %s): run `npm run build` in the quantum-butler checkout, "
                "or pass cli_path= / set QUANTUM_BUTLER_CLI" % (self.cli_path, how)
            )
        _log.info("quantum-butler: running %s (found by %s)", self.cli_path, how)
        self.node = node or default_node_path()
        self.argv: List[str] = [self.node, *node_args, self.cli_path, "--stdio", *args]
        self.timeout = timeout
        self.dispatch_linger = float(dispatch_linger)
        if not self.dispatch_linger >= 0:  # NaN too
            raise ValueError("dispatch_linger must be a number of seconds >= 0, not %r" % (dispatch_linger,))
        if type(notification_backlog) is not int or notification_backlog < 1:
            raise ValueError("notification_backlog must be a number of bytes >= 1, not %r" % (notification_backlog,))
        self.client_name = client_name
        self._capabilities = dict(capabilities) if capabilities is not None else {"workDoneProgress": True, "provenanceBatches": True, "provenanceRuns": True}
        self._initialization_options = initialization_options
        self._watch_parent = watch_parent
        self._stderr_logger = stderr_logger
        self._stderr_limit = max(1024, int(stderr_limit))

        self.initialize_result: Optional[Dict[str, Any]] = None
        #: Optional debug hook: ``trace(direction, message)`` with direction "send" or
        #: "recv", called on the sending thread / the reader thread. Keep it fast.
        self.trace: Optional[Callable[[str, Dict[str, Any]], None]] = None
        self._quantum_butler_client: Any = None  # the butler.Client made for this connection

        self._ids = itertools.count(1)
        self._pending: Dict[int, RequestFuture] = {}
        self._pending_lock = threading.Lock()
        self._write_lock = threading.Lock()
        # Tuples, replaced under _listeners_lock: a delivery reads them without a lock or a copy.
        self._listeners: Dict[str, Tuple[Callable[[Any], None], ...]] = {}
        self._inline_listeners: Dict[str, Tuple[Callable[[Any], None], ...]] = {}  # run on the reader thread
        self._any_listeners: Tuple[Callable[[str, Any], None], ...] = ()
        self._request_handlers: Dict[str, Callable[[Any], Any]] = {}
        self._listeners_lock = threading.Lock()
        # The reader adds notifications and wakes the dispatcher once per chunk read, after
        # resolving the responses in it (see handover.py).
        self._dispatch_queue = HandOver()
        self._backlog = Backlog(notification_backlog)
        self._stderr_buf: Deque[bytes] = collections.deque()
        self._stderr_size = 0
        self._stderr_lock = threading.Lock()
        self._dead: Optional[SidecarDied] = None
        self._dead_event = threading.Event()
        self._close_lock = threading.Lock()
        self._closing = False
        self._closed = False

        #: Counters: frames and body bytes read from stdout, and bytes that were not
        #: part of a frame (a correct sidecar never writes any).
        self.frames_received = 0
        self.bytes_received = 0
        self.junk_bytes = 0
        self.late_responses = 0

        self.process = subprocess.Popen(
            self.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env) if env is not None else sidecar_env(),
            cwd=cwd,
            bufsize=-1,  # buffered binary pipes
            start_new_session=bool(new_session) and os.name == "posix",
        )
        self._reader = threading.Thread(target=self._read_loop, name="quantum-butler-reader", daemon=True)
        self._stderr_reader = threading.Thread(target=self._stderr_loop, name="quantum-butler-stderr", daemon=True)
        self._dispatcher = threading.Thread(target=self._dispatch_loop, name="quantum-butler-dispatch", daemon=True)
        self._stderr_reader.start()
        self._dispatcher.start()
        self._reader.start()
        if initialize:
            try:
                self.initialize(timeout=initialize_timeout)
            except BaseException:
                self._terminate_quietly()
                raise

    # ----------------------------------------------------------------- lifecycle

    @property
    def pid(self) -> int:
        return self.process.pid

    def initialize(self, timeout: Optional[float] = 30.0) -> Dict[str, Any]:
        """``initialize`` (protocol 1.0, our pid) then the ``initialized`` notification."""
        params: Dict[str, Any] = {
            "protocolVersion": PROTOCOL_VERSION,
            "processId": os.getpid() if self._watch_parent else None,
            "clientInfo": {"name": self.client_name, "version": CLIENT_VERSION},
            "capabilities": self._capabilities,
        }
        if self._initialization_options is not None:
            params["initializationOptions"] = dict(self._initialization_options)
        result = self.request("initialize", params, timeout=timeout)
        self.initialize_result = result
        self.notify("initialized", {})
        return result

    @property
    def capabilities(self) -> Dict[str, Any]:
        return (self.initialize_result or {}).get("capabilities", {})

    @property
    def server_info(self) -> Dict[str, Any]:
        return (self.initialize_result or {}).get("serverInfo", {})

    @property
    def max_inline_bytes(self) -> int:
        return int(self.capabilities.get("maxInlineBytes", 64 * 1024 * 1024))

    @property
    def alive(self) -> bool:
        return self._dead is None and self.process.poll() is None

    @property
    def returncode(self) -> Optional[int]:
        return self.process.poll()

    def close(self, timeout: float = 2.0) -> Optional[int]:
        """Shut down: ``shutdown`` → ``exit`` → close stdin → wait → terminate → wait → kill.

        Returns the exit code (0 after a clean shutdown). Idempotent.
        """
        with self._close_lock:
            if self._closed:
                return self.process.wait()
            self._closed = True
            self._closing = True
        self._backlog.close()  # the reader reads everything from here on
        if self.alive:
            try:
                self.request("shutdown", None, timeout=timeout)
            except Exception as exc:  # the sidecar may be gone or stuck; fall through
                _log.debug("shutdown request failed: %s", exc)
            try:
                self.notify("exit")
            except Exception as exc:
                _log.debug("exit notification failed: %s", exc)
        with self._write_lock:
            try:
                self.process.stdin.close()
            except Exception:
                pass
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            try:
                code = self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                code = self.process.wait()
        self._reader.join(timeout)
        self._stderr_reader.join(timeout)
        self._dispatch_queue.put(_STOP)
        if threading.current_thread() is not self._dispatcher:
            self._dispatcher.join(timeout)
        for stream in (self.process.stdout, self.process.stderr):
            try:
                stream.close()
            except Exception:
                pass
        return code

    def kill(self) -> None:
        """SIGKILL the sidecar (pending requests then fail with SidecarDied)."""
        try:
            self.process.kill()
        except OSError:
            pass

    def wait(self, timeout: Optional[float] = None) -> int:
        return self.process.wait(timeout)

    def _terminate_quietly(self) -> None:
        self._closed = True
        self._closing = True
        self._backlog.close()
        try:
            self.process.kill()
            self.process.wait(5)
        except Exception:
            pass
        self._reader.join(5)
        self._stderr_reader.join(5)
        self._dispatch_queue.put(_STOP)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            try:
                stream.close()
            except Exception:
                pass

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "alive" if self.alive else "exited(%s)" % self.process.poll()
        return "<Connection pid=%s %s>" % (self.process.pid, state)

    # ----------------------------------------------------------------- requests

    def request_async(self, method: str, params: Any = None) -> RequestFuture:
        """Send a request; return its future (``cancel()`` sends ``$/cancelRequest``)."""
        if self._dead is not None:
            raise self._died(method, None)
        msg: Dict[str, Any] = {"jsonrpc": "2.0", "id": 0, "method": method}
        if params is not None:
            msg["params"] = params
        request_id = next(self._ids)
        msg["id"] = request_id
        body = encode_message(msg)  # fails here, before anything is registered
        fut = RequestFuture(self, request_id, method)
        with self._pending_lock:
            if self._dead is not None:
                raise self._died(method, request_id)
            self._pending[request_id] = fut
        try:
            self._write(body, msg)
        except BaseException:
            with self._pending_lock:
                self._pending.pop(request_id, None)
            raise
        return fut

    def request(self, method: str, params: Any = None, timeout: Optional[float] = None) -> Any:
        """Send a request and wait for its result.

        Raises the mapped :class:`~quantum_butler.errors.QuantumButlerError` for an
        error response, :class:`RequestTimeout` (a ``TimeoutError``, after sending
        ``$/cancelRequest``) when ``timeout`` (default: ``self.timeout``) runs out,
        and :class:`SidecarDied` if the process dies first.
        """
        if timeout is None:
            timeout = self.timeout
        fut = self.request_async(method, params)
        try:
            return fut.result(timeout)
        except concurrent.futures.TimeoutError:
            # Not the builtin TimeoutError before Python 3.11.
            if self._abandon(fut.request_id):
                raise RequestTimeout(method, fut.request_id, timeout) from None
            return fut.result()  # answered while we gave up: take the answer

    def notify(self, method: str, params: Any = None) -> None:
        """Send a notification."""
        if self._dead is not None:
            raise self._died(method, None)
        msg: Dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        self._write(encode_message(msg), msg)

    def cancel(self, request_id: int) -> None:
        """Send ``$/cancelRequest`` for an id (the future, if any, is left alone)."""
        try:
            self.notify("$/cancelRequest", {"id": request_id})
        except (ConnectionError, OSError, ValueError):
            pass

    def _abandon(self, request_id: int) -> bool:
        """Forget a pending request and ask the sidecar to cancel it. False if already answered."""
        with self._pending_lock:
            fut = self._pending.pop(request_id, None)
        if fut is None:
            return False
        self.cancel(request_id)
        return True

    def pending_count(self) -> int:
        with self._pending_lock:
            return len(self._pending)

    def _write(self, body: bytes, msg: Dict[str, Any]) -> None:
        trace = self.trace
        if trace is not None:
            trace("send", msg)
        data = memoryview(frame(body) + body)  # one system call per message, no buffer in between
        try:
            with self._write_lock:
                fd = self.process.stdin.fileno()  # ValueError once closed
                while data:
                    data = data[os.write(fd, data) :]
        except (BrokenPipeError, ConnectionResetError, ValueError, OSError) as exc:
            # The process is gone (or stdin was closed): report it the same way as the reader does.
            self._dead_event.wait(2.0)
            raise self._died(msg.get("method"), msg.get("id")) from exc

    def _died(self, method: Optional[str], request_id: Optional[int]) -> SidecarDied:
        code = self.process.poll()
        what = "%s (request %s)" % (method, request_id) if request_id is not None else str(method)
        if self._closing:
            why = "the connection is closed" + (" (sidecar exit code %s)" % code if code is not None else "")
        elif code is None:
            why = "the sidecar's stdout closed (process still running)"
        elif code < 0:
            why = "the sidecar was killed by signal %d" % -code
        else:
            why = "the sidecar exited with code %d" % code
        return SidecarDied(
            "%s; cannot complete %s" % (why, what),
            returncode=code,
            stderr_tail=self.stderr_tail(),
            method=method,
            request_id=request_id,
        )

    # ----------------------------------------------------------------- notifications

    def on_notification(self, method: str, callback: Callable[[Any], None], *, on_reader_thread: bool = False) -> Callable[[], None]:
        """Call ``callback(params)`` on the dispatcher thread for each ``method`` notification.

        ``on_reader_thread=True`` (opt-in, for cheap callbacks such as counters): call it on
        the reader thread instead, as each message is read, so no hand-over to the dispatcher
        is paid, and a call's events have reached it when the call returns. Such a callback
        must be quick and must never block or make requests: while it runs, no response is read.

        Returns a function that unregisters the callback.
        """
        listeners = self._inline_listeners if on_reader_thread else self._listeners
        with self._listeners_lock:
            listeners[method] = listeners.get(method, ()) + (callback,)

        def remove() -> None:
            with self._listeners_lock:
                left = _without(listeners.get(method, ()), callback)
                if left:
                    listeners[method] = left
                else:  # no key without a callback: the reader asks ``method in listeners``
                    listeners.pop(method, None)

        return remove

    def on_any_notification(self, callback: Callable[[str, Any], None]) -> Callable[[], None]:
        """Call ``callback(method, params)`` for every notification."""
        with self._listeners_lock:
            self._any_listeners += (callback,)

        def remove() -> None:
            with self._listeners_lock:
                self._any_listeners = _without(self._any_listeners, callback)

        return remove

    def on_request(self, method: str, handler: Callable[[Any], Any]) -> None:
        """Answer sidecar→client requests for ``method`` with ``handler(params)`` (others get -32601)."""
        with self._listeners_lock:
            self._request_handlers[method] = handler

    def flush_notifications(self, timeout: Optional[float] = 10.0) -> bool:
        """Wait until every notification received so far has been delivered to its callbacks.

        Notifications a request caused arrive before its response, so after a request
        returns, ``flush_notifications()`` guarantees their callbacks have run.
        """
        if threading.current_thread() is self._dispatcher:
            return True
        if not self._dispatcher.is_alive():
            return True
        barrier = _Barrier()
        self._dispatch_queue.put(barrier)
        return barrier.event.wait(timeout)

    def defer(self, fn: Callable[[], None]) -> None:
        """Run ``fn()`` on the dispatcher thread after every notification received so far.

        (Runs it at once if the dispatcher has stopped.)
        """
        if self._dispatcher.is_alive():
            self._dispatch_queue.put(("call", fn))
        else:
            fn()

    def _dispatch_loop(self) -> None:
        decode = message_decoder()
        take, backlog = self._dispatch_queue.take, self._backlog
        while True:
            items = take(self.dispatch_linger)
            # What the reader queued (bodies, and messages with their size; not put()'s barriers,
            # deferred calls and stop) leaves the backlog as it is taken: the reader may read on.
            taken = 0
            for item in items:
                if type(item) is bytes:
                    taken += len(item)
                elif type(item) is tuple and len(item) == 3:
                    taken += item[2]
            if taken:
                backlog.took(taken)
            i, n = 0, len(items)
            while i < n:
                item = items[i]
                i += 1
                if type(item) is bytes:  # a butler/provenanceBatch body, with those queued right after it
                    j = i - 1
                    while i < n and type(items[i]) is bytes:
                        i += 1
                    self._deliver_raw_batches(decode, items[j:i])
                    continue
                if item is _STOP:
                    return
                if isinstance(item, _Barrier):
                    item.event.set()
                    continue
                kind, msg = item[0], item[1]
                backlog.progress += 1
                if kind == "call":
                    try:
                        msg()
                    except Exception:
                        _log.exception("quantum-butler deferred call failed")
                    continue
                try:
                    if kind == "notification":
                        self._deliver(msg["method"], msg.get("params"))
                    elif kind == "batch":
                        self._deliver_batch(run_events(msg.get("params") or {}))
                    else:
                        self._answer_server_request(msg)
                except Exception:  # a callback's failure never kills the dispatcher
                    _log.exception("quantum-butler notification callback failed for %s", msg.get("method"))

    def _deliver_raw_batches(self, decode: Callable[[bytes], Any], bodies: List[bytes]) -> None:
        """``butler/provenanceBatch`` and ``butler/provenanceRuns`` bodies the reader queued unparsed
        (consecutive, in order).

        The sidecar writes a runs body as ``_RUNS_HEAD + runs + _RUNS_TAIL``: when every body taken
        is one, their runs are parsed in one go as ``[[runs1],[runs2],...]`` (one decoder call, the
        decoder's key memo shared; no envelope nor params object built per body) and delivered by
        :meth:`_deliver_runs`. Otherwise, as it writes any batch as ``_BATCH_PREFIX + params + b"}"``
        (or ``_RUNS_PREFIX``), their params are parsed in one go as ``[params1,params2,...]``.
        Either array is used only if it holds one array (object) per body; otherwise (another
        layout, bad JSON) each body is parsed and handled on its own, in order
        (:meth:`_dispatch_raw`), so a bad body is logged and skipped as before.
        """
        head, tail = _RUNS_HEAD, _RUNS_TAIL
        if all(map(bytes.startswith, bodies, repeat(head))) and all(map(bytes.endswith, bodies, repeat(tail))):
            start, end = len(head), -len(tail)
            try:
                all_runs = decode(b"[[" + b"],[".join([body[start:end] for body in bodies]) + b"]]")
            except (UnicodeDecodeError, ValueError):
                all_runs = None
            if type(all_runs) is list and len(all_runs) == len(bodies) and all(type(r) is list for r in all_runs):
                self._deliver_runs(all_runs)
                return
        if len(bodies) == 1:
            all_params = self._batch_params(decode, bodies[0])
        else:
            runs, batch, at = len(_RUNS_PREFIX), len(_BATCH_PREFIX), _FORM_AT
            try:
                all_params = decode(b"[" + b",".join([body[runs if body[at] == _RUNS_BYTE else batch : -1] for body in bodies]) + b"]")
            except (UnicodeDecodeError, ValueError):
                all_params = None
            if type(all_params) is not list or len(all_params) != len(bodies) or not all(type(p) is dict for p in all_params):
                all_params = None
        if all_params is None:
            for body in bodies:
                self._dispatch_raw(decode, body)
            return
        listeners, backlog = self._listeners, self._backlog
        for params in all_params:
            backlog.progress += 1  # a body's delivery begins: the dispatcher is not stuck (backlog.py)
            try:
                events = run_events(params)
                callbacks = listeners.get(PROVENANCE, ())
                if len(callbacks) == 1 and not self._any_listeners:  # the usual case, without _deliver_all's loops
                    cb = callbacks[0]
                    for event in events:
                        try:
                            cb(event)
                        except Exception:
                            _log.exception("quantum-butler callback for %s failed", PROVENANCE)
                else:
                    self._deliver_all(PROVENANCE, events)
            except Exception:  # e.g. events that are not a list: never kills the dispatcher
                _log.exception("quantum-butler notification callback failed for %s", PROVENANCE_BATCH)

    def _deliver_runs(self, all_runs: List[List[Any]]) -> None:
        """The runs of runs bodies, one list per body, in order (see :meth:`_deliver_raw_batches`).

        The listeners are those registered when a body's delivery starts. With one callback (the
        usual case) each event goes to it as it is rebuilt, without a list of them: a bad run (not
        an object, a member missing) is logged and skips the rest of its body, after the events
        before it in that body have been delivered."""
        listeners, backlog = self._listeners, self._backlog
        for runs in all_runs:
            backlog.progress += 1  # a body's delivery begins: the dispatcher is not stuck (backlog.py)
            callbacks = listeners.get(PROVENANCE, ())
            try:
                if len(callbacks) != 1 or self._any_listeners:
                    self._deliver_all(PROVENANCE, run_events({"runs": runs}))
                    continue
                # The usual case: run_events' loops inline, each event to the callback as it is built.
                cb = callbacks[0]
                for run in runs:
                    session_id, seq, time_ = run["sessionId"], run["seq"], run["time"]
                    for t in run["events"]:
                        if len(t) == 3:
                            event = {"sessionId": session_id, "seq": seq, "event": t[0], "datasetId": t[1], "datasetType": t[2], "time": time_}
                        else:
                            event = {"sessionId": session_id, "seq": seq, "event": t[0], "datasetId": t[1], "datasetType": t[2], "time": time_, **t[3]}
                        seq += 1
                        try:
                            cb(event)
                        except Exception:
                            _log.exception("quantum-butler callback for %s failed", PROVENANCE)
            except Exception:  # e.g. a run without its sessionId: never kills the dispatcher
                _log.exception("quantum-butler notification callback failed for %s", PROVENANCE_RUNS)

    @staticmethod
    def _batch_params(decode: Callable[[bytes], Any], body: bytes) -> Optional[List[Dict[str, Any]]]:
        """``[params]`` of one body the reader queued unparsed, parsed without its envelope; None
        if it is not ``_BATCH_PREFIX + object + "}"``."""
        start = len(_RUNS_PREFIX) if body[_FORM_AT] == _RUNS_BYTE else len(_BATCH_PREFIX)
        try:
            params = decode(body[start:-1]) if body.endswith(b"}") else None
        except (UnicodeDecodeError, ValueError):
            return None
        return [params] if type(params) is dict else None

    def _dispatch_raw(self, decode: Callable[[bytes], Any], body: bytes) -> None:
        """One body the reader queued unparsed (it began as a ``butler/provenanceBatch`` or ``butler/provenanceRuns``), parsed whole."""
        self._backlog.progress += 1
        try:
            msg = decode(body)
        except (UnicodeDecodeError, ValueError) as exc:
            _log.error("quantum-butler: unparsable message from the sidecar (%s): %.200r", exc, body)
            return
        try:
            if msg.get("id") is not None:
                self._answer_server_request(msg)
            else:
                self._deliver_batch(run_events(msg.get("params") or {}))
        except Exception:  # a callback's failure never kills the dispatcher
            _log.exception("quantum-butler notification callback failed for %s", msg.get("method"))

    def _deliver(self, method: str, params: Any) -> None:
        self._deliver_all(method, (params,))

    def _deliver_batch(self, events: Sequence[Any]) -> None:
        """A batch's events, one by one as ``butler/provenance``."""
        self._deliver_all(PROVENANCE, events)

    def _deliver_all(self, method: str, all_params: Sequence[Any], on_reader_thread: bool = False) -> None:
        """Each of ``all_params`` in order to the listeners registered when delivery starts
        (those of the dispatcher thread, or those of the reader thread)."""
        if on_reader_thread:
            callbacks, any_callbacks = self._inline_listeners.get(method, ()), ()
        else:
            callbacks, any_callbacks = self._listeners.get(method, ()), self._any_listeners
        for params in all_params:
            for cb in callbacks:
                try:
                    cb(params)
                except Exception:
                    _log.exception("quantum-butler callback for %s failed", method)
            for cb in any_callbacks:
                try:
                    cb(method, params)
                except Exception:
                    _log.exception("quantum-butler callback for %s failed", method)

    def _answer_server_request(self, msg: Dict[str, Any]) -> None:
        method = msg.get("method")
        with self._listeners_lock:
            handler = self._request_handlers.get(method)
        reply: Dict[str, Any] = {"jsonrpc": "2.0", "id": msg.get("id")}
        if handler is None:
            reply["error"] = {"code": -32601, "message": "Unhandled method %s" % method}
        else:
            try:
                reply["result"] = handler(msg.get("params"))
            except Exception as exc:
                reply["error"] = {"code": -32603, "message": "%s: %s" % (type(exc).__name__, exc)}
        try:
            self._write(encode_message(reply), reply)
        except (ConnectionError, OSError, ValueError, TypeError):
            pass

    # ----------------------------------------------------------------- reader

    def _read_loop(self) -> None:
        reason: Optional[BaseException] = None
        try:
            frames = FrameReader(self.process.stdout.fileno(), read_frame, self._before_read)
            next_frames, junk, decode, handle = frames.frames, self._junk, message_decoder(), self._handle
            add, batch_prefixes = self._dispatch_queue.add, (_RUNS_PREFIX, _BATCH_PREFIX)
            listeners, inline = self._listeners, self._inline_listeners  # changed in place, never replaced
            backlog = self._backlog
            while True:
                bodies = next_frames(junk)  # the whole frames of a chunk read: one call, not one per frame
                if bodies is None:
                    break
                self.frames_received += len(bodies)
                self.bytes_received += sum(map(len, bodies))
                for body in bodies:
                    if body.startswith(batch_prefixes) and self.trace is None and PROVENANCE not in inline:
                        if PROVENANCE in listeners or self._any_listeners:
                            add(body)  # parsed by the dispatcher (_deliver_raw_batches)
                            backlog.added += len(body)
                        continue
                    try:
                        msg = decode(body)
                    except (UnicodeDecodeError, ValueError) as exc:
                        _log.error("quantum-butler: unparsable message from the sidecar (%s): %.200r", exc, body)
                        continue
                    if self.trace is not None:
                        try:
                            self.trace("recv", msg)
                        except Exception:
                            _log.exception("trace hook failed")
                    handle(msg, len(body))
        except Exception as exc:  # e.g. a reset pipe
            reason = exc
            _log.debug("quantum-butler reader stopped: %s", exc)
        finally:
            self._on_eof(reason)

    def _before_read(self) -> None:
        """Before the reader reads the pipe again: wake the dispatcher, and wait while the
        notifications it has not taken exceed the backlog (see :mod:`.backlog`)."""
        self._dispatch_queue.wake()
        backlog = self._backlog
        if backlog.added - backlog.taken > backlog.limit:
            backlog.wait_for_room(self._callback_awaits_answer)

    def _callback_awaits_answer(self) -> bool:
        """A request made on the dispatcher thread (by a callback) waits for its answer."""
        ident = self._dispatcher.ident
        with self._pending_lock:
            return any(f._thread == ident for f in self._pending.values())

    @property
    def backlog_stalls(self) -> int:
        """Times the reader read past ``notification_backlog`` because the dispatcher delivered
        nothing for a second (a callback waiting on another thread's call; see :mod:`.backlog`)."""
        return self._backlog.stalls

    def _junk(self, data: bytes) -> None:
        self.junk_bytes += len(data)
        _log.warning("quantum-butler: unexpected bytes on the sidecar's stdout: %.200r", data)

    def _handle(self, msg: Any, size: int = 0) -> None:
        """A message read (``size``: its body's bytes, counted in the backlog if it is queued)."""
        if not isinstance(msg, dict):
            _log.error("quantum-butler: message is not an object: %.200r", msg)
            return
        method = msg.get("method")
        if method is None:
            if "result" in msg or "error" in msg:
                self._resolve(msg)
            else:
                _log.error("quantum-butler: message with neither method nor result: %.200r", msg)
        elif "id" in msg and msg["id"] is not None:
            self._dispatch_queue.add(("request", msg, size))
            self._backlog.added += size
        elif method == PROVENANCE_BATCH or method == PROVENANCE_RUNS:
            # Events written together arrive as one batch (asked for in initialize): one
            # hand-over to the dispatcher, which delivers them one by one as butler/provenance.
            if self._inline_listeners.get(PROVENANCE):
                try:
                    events = run_events(msg.get("params") or {})
                except Exception:  # params that are not events nor runs: never stops the reader
                    _log.exception("quantum-butler: bad %s params", method)
                    events = ()
                self._deliver_all(PROVENANCE, events, on_reader_thread=True)
            if self._any_listeners or self._listeners.get(PROVENANCE):
                self._dispatch_queue.add(("batch", msg, size))
                self._backlog.added += size
        else:
            if self._inline_listeners.get(method):
                self._deliver_all(method, (msg.get("params"),), on_reader_thread=True)
            if self._any_listeners or self._listeners.get(method):
                # Handing a message to the dispatcher thread costs about as much as a small call:
                # a notification nobody listens to (e.g. a stream a host never subscribed to) stops here.
                self._dispatch_queue.add(("notification", msg, size))
                self._backlog.added += size

    def _resolve(self, msg: Dict[str, Any]) -> None:
        request_id = msg.get("id")
        with self._pending_lock:
            fut = self._pending.pop(request_id, None) if isinstance(request_id, int) else None
        if fut is None:
            # Timed out or cancelled locally, or an error about a message we could not
            # have sent (id null: the sidecar could not parse something).
            self.late_responses += 1
            if request_id is None and "error" in msg:
                _log.error("quantum-butler: error without id from the sidecar: %s", msg["error"])
            return
        if "error" in msg and msg["error"] is not None:
            fut.set_exception(error_from_response(msg["error"]))
        else:
            fut.set_result(msg.get("result"))

    def _on_eof(self, reason: Optional[BaseException]) -> None:
        if isinstance(reason, ProtocolError) and self.process.poll() is None:
            _log.error("quantum-butler: %s; killing the sidecar", reason)
            self.kill()
        # stdout closed: normally the process is exiting; give it a moment for its exit code.
        try:
            self.process.wait(2.0)
        except subprocess.TimeoutExpired:
            pass
        self._stderr_reader.join(1.0)
        with self._pending_lock:
            self._dead = self._died("requests", None)
            pending = list(self._pending.values())
            self._pending.clear()
        self._dead_event.set()
        for fut in pending:
            exc = self._died(fut.method, fut.request_id)
            if reason is not None:
                exc.__cause__ = reason
            if not fut.done():
                fut.set_exception(exc)
        if not self._closing:
            _log.info("quantum-butler sidecar ended (exit code %s, %d pending requests failed)", self.process.poll(), len(pending))
        self._dispatch_queue.put(_STOP)

    # ----------------------------------------------------------------- stderr

    def _stderr_loop(self) -> None:
        stderr = self.process.stderr
        try:
            for line in iter(stderr.readline, b""):
                with self._stderr_lock:
                    self._stderr_buf.append(line)
                    self._stderr_size += len(line)
                    while self._stderr_size > self._stderr_limit and len(self._stderr_buf) > 1:
                        self._stderr_size -= len(self._stderr_buf.popleft())
                if self._stderr_logger is not None:
                    self._forward_stderr(line)
        except (OSError, ValueError):
            pass

    _LEVELS = {"error": logging.ERROR, "warning": logging.WARNING, "info": logging.INFO}

    def _forward_stderr(self, line: bytes) -> None:
        text = line.decode("utf-8", "replace").rstrip("\n")
        level = logging.DEBUG
        if text.startswith("{"):
            try:
                level = self._LEVELS.get(json.loads(text).get("level"), logging.DEBUG)
            except (ValueError, AttributeError):
                pass
        try:
            self._stderr_logger.log(level, "%s", text)
        except Exception:
            pass

    def stderr_tail(self, max_bytes: Optional[int] = None) -> str:
        """The last lines the sidecar wrote to stderr (bounded by ``stderr_limit``)."""
        with self._stderr_lock:
            data = b"".join(self._stderr_buf)
        if max_bytes is not None and len(data) > max_bytes:
            data = data[-max_bytes:]
        return data.decode("utf-8", "replace")

    # ----------------------------------------------------------------- conveniences

    def ping(self, timeout: Optional[float] = None) -> Dict[str, Any]:
        return self.request("server/ping", None, timeout=timeout)

    def stats(self, timeout: Optional[float] = None) -> Dict[str, Any]:
        return self.request("server/stats", None, timeout=timeout)

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0, interval: float = 0.01) -> bool:
        """Poll ``predicate`` until true or ``timeout`` (handy for tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(interval)
        return predicate()
