"""How many native threads (BLAS, OpenMP) a detector uses while it fits or scores: one by default.

Sensor tables are a few dozen columns wide: threaded BLAS gains nothing on such products, and on a
busy machine spinning worker threads cost far more than they give. :func:`limit_threads` sets the
limit around one call; :func:`compute_threads_held` sets it once for a long-lived service.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from threadpoolctl import ThreadpoolController

#: native threads (BLAS, OpenMP) a detector uses while fitting / scoring; see limit_threads
COMPUTE_THREADS = max(1, int(os.environ.get("PUMPGUARD_THREADS", "1") or 1))

#: one controller for the process: building one scans every loaded library (~4-16 ms measured
#: here, most of a one-row call); entering its ``limit`` afterwards costs ~20 us
_THREADPOOLS: ThreadpoolController | None = None


def limit_threads(*, rescan: bool = False):
    """Native thread pools (BLAS, OpenMP) limited to :data:`COMPUTE_THREADS` while a detector
    fits or scores.

    Sensor tables are a few dozen columns wide: threaded BLAS gains nothing on such products, and
    on a busy machine spinning worker threads cost far more than they give -- measured on the
    shared 2-core build machine: a logistic regression 5.6 s with two BLAS threads against 0.08 s
    with one; a histogram gradient boosting fit 29 s with two OpenMP threads against 5.9 s with
    one. Set the environment variable ``PUMPGUARD_THREADS`` to use more on a dedicated machine.
    Joblib-parallel forests (``n_jobs``) are not affected.

    The libraries are found once per process (``rescan=True``, which ``fit`` passes, looks again
    for libraries loaded since) and the limit is set and restored around each call.
    """
    global _THREADPOOLS
    if _HELD and not rescan:  # a long-lived scorer set the limit once for its whole life
        return nullcontext()
    if rescan or _THREADPOOLS is None:
        _THREADPOOLS = ThreadpoolController()
    return _THREADPOOLS.limit(limits=COMPUTE_THREADS)


#: set while :func:`compute_threads_held` holds the limit for the whole process
_HELD = False


@contextmanager
def compute_threads_held() -> Iterator[None]:
    """The thread limit of :func:`limit_threads` set once, for a service's whole life.

    Setting and restoring the limit around every call costs ~20-60 us (threadpoolctl asks every
    library each time); a scoring service that scores a few rows a thousand times a second holds it
    instead, and each call inside skips that step. Fits still rescan (a fit may load a library).

    Examples
    --------
    >>> with compute_threads_held():
    ...     type(limit_threads()).__name__
    'nullcontext'
    """
    global _HELD
    if _HELD:  # already held further up
        yield
        return
    with limit_threads():
        _HELD = True
        try:
            yield
        finally:
            _HELD = False
