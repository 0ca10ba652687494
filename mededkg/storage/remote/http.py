"""The remote back-end's HTTP side: the server's URLs, the client (urllib3's
connection pool and ``Retry``: backoff, ``Retry-After``, idempotent requests only
repeated) and the errors that name the URL."""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import urllib3
import urllib3.connectionpool
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import MaxRetryError, NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util.retry import Retry

from mededkg.errors import MedEdKGError, StoreNotFound

#: Attempts per request (the first one included) before a load or query gives up.
ATTEMPTS = 5
#: Seconds before the first retry; doubled before each further one.
BACKOFF = 0.5
#: HTTP answers worth retrying: the server or a proxy in front of it is overloaded.
RETRY_STATUSES = frozenset({500, 502, 503, 504})
#: Socket timeout of exports and loads (one read or write may not stall longer).
TRANSFER_TIMEOUT = 300.0


class RemoteError(MedEdKGError):
    """The remote SPARQL server answered with an error."""


class RemoteUnavailable(RemoteError):
    """The remote SPARQL server cannot be reached."""


class RemoteLoadFailed(RemoteError):
    """Loading the dataset into the remote server failed; its graphs are unchanged."""


class RemoteStoreEmpty(StoreNotFound):
    """The remote server holds no MedEdKG dataset yet."""

    def __init__(self, url: str) -> None:
        self.url = url
        MedEdKGError.__init__(
            self,
            f"the SPARQL server at {url} holds no MedEdKG graphs yet: run `mededkg "
            f"build --store-backend remote --remote-endpoint {url}` first",
        )


class RemoteHTTPError(RemoteError):
    """The server answered with an HTTP error status."""

    def __init__(self, url: str, status: int, message: str) -> None:
        self.url = url
        self.status = status
        self.server_message = message
        super().__init__(f"the SPARQL server at {url} answered {status}: {message}")


@dataclass(frozen=True)
class Endpoints:
    """The URLs of one server: SPARQL query, SPARQL Update and Graph Store."""

    query: str
    update: str
    graph_store: str

    @classmethod
    def derive(cls, query: str, update: str = "", graph_store: str = "") -> Endpoints:
        """Fill in missing URLs the way Oxigraph lays them out.

        >>> Endpoints.derive("http://h:7878/query")
        Endpoints(query='http://h:7878/query', update='http://h:7878/update', \
graph_store='http://h:7878/store')
        >>> Endpoints.derive("http://h:3030/ds").graph_store
        'http://h:3030/ds'
        """
        stem = query[: -len("/query")] if query.endswith("/query") else None
        return cls(
            query,
            update or (stem + "/update" if stem is not None else query),
            graph_store or (stem + "/store" if stem is not None else query),
        )


#: A response of :meth:`Http.open`, its body not read yet.
Response = urllib3.BaseHTTPResponse


class _DeadlineRetry(Retry):
    """urllib3's ``Retry`` that starts no retry after a deadline (a
    ``time.monotonic`` value) and reports each retry it allows."""

    def __init__(
        self,
        *args: Any,
        deadline: float | None = None,
        on_retry: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.deadline = deadline
        self.on_retry = on_retry

    def new(self, **kwargs: Any) -> Self:
        retry = super().new(**kwargs)
        retry.deadline, retry.on_retry = self.deadline, self.on_retry
        return retry

    def is_exhausted(self) -> bool:
        if self.deadline is not None and (
            time.monotonic() + self.get_backoff_time() >= self.deadline
        ):
            return True
        return super().is_exhausted()

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: urllib3.BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: urllib3.connectionpool.ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        if self.on_retry is not None:  # (the call above raises when exhausted)
            self.on_retry()
        return retry


class Http:
    """HTTP requests with retries (urllib3's pool and ``Retry``), and errors that
    name the URL.

    A request is repeated after a connection error, a broken answer or a 5xx answer
    if it is *idempotent*; any request is repeated when the connection could not be
    made (it was never sent). Waits grow exponentially from *backoff* (urllib3: the
    first retry is immediate), or follow the server's ``Retry-After`` (413, 429, 503).

    Args:
        attempts: tries per request, the first included.
        backoff: the exponential backoff factor in seconds.
    """

    def __init__(self, *, attempts: int = ATTEMPTS, backoff: float = BACKOFF) -> None:
        self.attempts = attempts
        self.backoff = backoff
        self.retries = 0  # how many requests were repeated (for tests and reports)
        self._pool = urllib3.PoolManager()

    def _counted(self) -> None:
        self.retries += 1

    def open(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float,
        idempotent: bool,
        deadline: float | None = None,
    ) -> Response:
        """Send one request; return the (unread) response of a 2xx answer.

        No retry starts after *deadline* (a ``time.monotonic`` value).

        Raises:
            RemoteUnavailable: the server could not be reached (after the retries).
            RemoteHTTPError: the server answered 4xx, or 5xx after the retries.
            TimeoutError: the server did not answer within *timeout* seconds.
        """
        more = self.attempts - 1
        retry = _DeadlineRetry(
            total=more,
            connect=more,
            read=more if idempotent else 0,
            status=more if idempotent else 0,
            other=more if idempotent else 0,
            redirect=0,
            raise_on_redirect=False,
            allowed_methods=None,  # any method: the caller says what may repeat
            status_forcelist=RETRY_STATUSES if idempotent else (),
            backoff_factor=self.backoff,
            raise_on_status=False,
            respect_retry_after_header=True,
            deadline=deadline,
            on_retry=self._counted,
        )
        try:
            response = self._pool.request(
                method,
                url,
                body=body,
                headers=dict(headers or {}),
                timeout=urllib3.Timeout(connect=timeout, read=timeout),
                retries=retry,
                preload_content=False,
            )
        except MaxRetryError as error:
            if _timed_out(error.reason):
                raise TimeoutError(str(error.reason)) from error
            raise RemoteUnavailable(_unreachable(url, error.reason)) from error
        except Urllib3Timeout as error:
            if not _timed_out(error):
                raise RemoteUnavailable(_unreachable(url, error)) from error
            raise TimeoutError(str(error)) from error
        except Urllib3Error as error:
            raise RemoteUnavailable(_unreachable(url, error)) from error
        if not 200 <= response.status < 300:
            message = _message(response)
            raise RemoteHTTPError(url, response.status, message)
        return response


def _timed_out(error: Exception | None) -> bool:
    """True for a connect or read timeout — not for a refused connection, which
    urllib3 files under its timeouts too (``NewConnectionError``)."""
    return isinstance(error, Urllib3Timeout) and not isinstance(
        error, NewConnectionError
    )


def media_type(response: Response) -> str:
    """The media type of *response*, without parameters, lower case."""
    return str(response.headers.get("Content-Type", "")).split(";")[0].strip().lower()


def _message(response: Response) -> str:
    try:
        text = response.read(2000).decode("utf-8", "replace").strip()
    except (OSError, Urllib3Error):
        text = ""
    finally:
        response.close()  # the rest of the body is unread: never reuse the connection
    return " ".join(text.split())[:500] or (response.reason or "no message")


def _with_query(url: str, **params: str) -> str:
    separator = "&" if "?" in url else "?"
    return url + separator + urllib.parse.urlencode(params)


def _unreachable(url: str, reason: object) -> str:
    return (
        f"cannot reach the SPARQL server at {url} ({reason}); check that it is "
        "running and that the remote_endpoint / remote_update_endpoint / "
        "remote_graph_store settings point at it"
    )
