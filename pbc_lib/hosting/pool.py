"""Two changes to Voilà's preheated kernel pools, for a server under load.

Voilà 0.5.13's pool (``voila/voila_kernel_manager.py``) hands a visitor the *oldest* kernel of the
notebook's pool as soon as that kernel has started, whether or not it has finished running the
notebook; the rest of the notebook is then run while the page streams in. Measured with
``benchmarks/hosting.py``'s throughput run (a pool of 12, 4 visitors at a time, the pool refilling
0.5 s after each hand-out, 2 cores), this goes wrong twice:

1. **Half-run kernels.** When visitors arrive faster than the pool refills, pages are served from
   kernels still running the notebook, and about 1 in 25 such pages never drew all its widgets
   ("Error displaying widget", or charts missing after 60 s). :meth:`get_rendered_notebook` here
   hands out a kernel that has finished running the notebook if the pool has one, and otherwise
   waits (up to :data:`READY_WAIT_S`) for the first one to finish, instead of a half-run one.
2. **Refills crowd out visitors.** Every hand-out starts a replacement at once, so four visitors
   arriving together start four kernels that each run the whole notebook on two cores, and the
   visitors' own pages wait behind them (6-13 s to interactive from a warm pool). Pool refills
   here run at most ``fill_concurrency`` at a time (default: one per core), queued in order.

:func:`install` applies both to the server's kernel manager; ``python -m pbc_lib.hosting`` calls
it (through :func:`pbc_lib.hosting.voila_class`).

Sources: Voilà 0.5.13 ``voila/voila_kernel_manager.py`` (``get_rendered_notebook``,
``fill_if_needed``, ``_initialize``) and ``voila/handler.py`` (the preheated branch).
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

log = logging.getLogger(__name__)

READY_WAIT_S = 60.0  # longest a visitor waits for a fully run kernel before taking a half-run one


def default_fill_concurrency() -> int:
    """One refill per core: refills are CPU-bound, so more at once only slows every one."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else (os.cpu_count() or 1))


def _ready_index(pool: list[asyncio.Future]) -> int | None:
    """Index of the first pool entry whose kernel has started and finished running the notebook."""
    for i, item in enumerate(pool):
        if item.done() and not item.cancelled() and item.exception() is None:
            task = item.result().get("task")
            if task is not None and task.done():
                return i
    return None


def _pending(pool: list[asyncio.Future]) -> list[asyncio.Future]:
    """What to wait on: entries still starting, and started kernels still running the notebook."""
    out: list[asyncio.Future] = []
    for item in pool:
        if not item.done():
            out.append(item)
        elif not item.cancelled() and item.exception() is None:
            task = item.result().get("task")
            if task is not None and not task.done():
                out.append(task)
    return out


async def take_ready_first(pool: list[asyncio.Future], wait_s: float = READY_WAIT_S) -> bool:
    """Move a fully run entry of ``pool`` to the front, waiting up to ``wait_s`` for one.

    Returns True if the front entry is now fully run, False if none became ready in time (the
    caller then takes the front entry as Voilà would).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while True:
        ready = _ready_index(pool)
        if ready is not None:
            pool.insert(0, pool.pop(ready))
            return True
        pending = _pending(pool)
        remaining = deadline - loop.time()
        if not pending or remaining <= 0:
            return False
        await asyncio.wait(pending, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)


def install(kernel_manager: Any, fill_concurrency: int | None = None) -> bool:
    """Give a Voilà preheating kernel manager the two changes above; False if it does not
    preheat (nothing to change)."""
    base = type(kernel_manager)
    if not hasattr(base, "get_rendered_notebook") or getattr(base, "_pbc_pool", False):
        return False
    slots = asyncio.Semaphore(fill_concurrency or default_fill_concurrency())

    class PbcKernelManager(base):  # type: ignore[misc, valid-type]
        _pbc_pool = True

        async def get_rendered_notebook(self, notebook_name, extra_kernel_env_variables=None,
                                        **kwargs):
            pool = self._pools.get(notebook_name, [])
            if pool and not await take_ready_first(pool):
                log.warning("no fully run kernel for %s within %.0f s: serving a half-run one",
                            notebook_name, READY_WAIT_S)
            return await super().get_rendered_notebook(
                notebook_name, extra_kernel_env_variables=extra_kernel_env_variables or {},
                **kwargs)

        async def _initialize(self, notebook_path, kernel_id=None, **kwargs):
            await slots.acquire()
            try:
                content = await super()._initialize(notebook_path, kernel_id, **kwargs)
            except BaseException:
                slots.release()
                raise
            content["task"].add_done_callback(lambda _task: slots.release())
            return content

    kernel_manager.__class__ = PbcKernelManager
    return True
