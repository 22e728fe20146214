"""Turn aiokafka's errors into one project error that says which cluster and what to do."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Final, TypeVar

from aiokafka.errors import (
    AuthenticationFailedError,
    AuthenticationMethodNotSupported,
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    IllegalSaslStateError,
    KafkaConnectionError,
    KafkaError,
    SaslAuthenticationFailed,
    TopicAuthorizationFailedError,
    TransactionalIdAuthorizationFailed,
    UnsupportedSaslMechanismError,
)

from foundation.connection import KafkaConnection
from foundation.exceptions import KafkaUnavailableError

T = TypeVar("T")

#: A login or TLS handshake the cluster refused (or this client gave up on).
_REFUSED_LOGIN: Final = (
    AuthenticationFailedError,
    AuthenticationMethodNotSupported,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
    IllegalSaslStateError,
    ssl.SSLError,
)
#: A request the cluster's ACLs do not allow the client's user.
_NOT_ALLOWED: Final = (
    TopicAuthorizationFailedError,
    GroupAuthorizationFailedError,
    ClusterAuthorizationFailedError,
    TransactionalIdAuthorizationFailed,
)
_SECURITY_SETTINGS: Final = "KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_* and KAFKA_SSL_*"


@contextmanager
def kafka_errors(action: str, kafka: KafkaConnection) -> Iterator[None]:
    """Raise :class:`KafkaUnavailableError` for any aiokafka error inside, naming ``action``
    and the cluster (``kafka.describe()``: servers, and the protocol and user if secured)."""
    where = kafka.describe()
    try:
        yield
    except _REFUSED_LOGIN as error:
        raise _refused(action, where, error) from error
    except KafkaConnectionError as error:
        refused = _refused_login_in(error)
        if refused is not None:
            raise _refused(action, where, refused) from error
        # aiokafka logs a refused login or TLS handshake (or a plaintext client's request to a
        # TLS listener going unanswered) and then says only this.
        security = (
            f"a refused login or TLS handshake ends the same way: check {_SECURITY_SETTINGS}"
            if kafka.secured
            else f"a cluster that wants TLS or a SASL login needs {_SECURITY_SETTINGS} set"
        )
        raise KafkaUnavailableError(
            f"could not reach Kafka at {where} to {action}: {error}",
            hint="check KAFKA_BOOTSTRAP_SERVERS and that the cluster runs (for the local "
            f"broker: local-kafka status); {security} (-v shows the client's own error)",
        ) from error
    except _NOT_ALLOWED as error:
        raise KafkaUnavailableError(
            f"Kafka at {where} does not allow this client to {action}: {error}",
            hint="grant the client's user the ACLs it needs on the pipeline's topics, groups "
            "and transactional IDs (the broker's log names the one refused)",
        ) from error
    except KafkaError as error:
        raise KafkaUnavailableError(
            f"Kafka at {where} failed to {action}: {error!r}",
            hint="read the broker's log; check this client's ACLs and the cluster's health",
        ) from error


def _refused(action: str, where: str, error: BaseException) -> KafkaUnavailableError:
    if isinstance(error, ssl.SSLError):
        message = f"could not reach Kafka at {where} to {action}: TLS failed: {error}"
    else:
        message = f"Kafka at {where} refused this client's login to {action}: {error}"
    return KafkaUnavailableError(
        message,
        hint=f"check {_SECURITY_SETTINGS} against the cluster's listener and this client's "
        "credentials",
    )


def _refused_login_in(error: BaseException) -> BaseException | None:
    """The refused login or failed TLS handshake that ``error`` was raised from, if any."""
    seen: set[int] = set()
    cause = error.__cause__ or error.__context__
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, _REFUSED_LOGIN):
            return cause
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return None


async def retrying(
    call: Callable[[], Awaitable[T]], *, timeout_s: float = 15.0, pause_s: float = 0.2
) -> T:
    """``call()``, tried again while it fails with a retriable Kafka error (a group
    coordinator still being elected, a leader moving) for up to ``timeout_s``; then its error.

    A cluster's first group lookup finds no coordinator until ``__consumer_offsets`` exists:
    an admin command run against a new cluster must wait that out, not fail.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return await call()
        except KafkaError as error:
            if not error.retriable or time.monotonic() >= deadline:
                raise
        await asyncio.sleep(pause_s)
