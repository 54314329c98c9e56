"""A Router in its own process, for the shared-state tests: reads a JSON job from argv, makes
the calls (threads, or tasks on one event loop), prints what happened as JSON.

Job: {"redis_url", "prefix", "model_list", "calls", "threads" (at once), "mode" ("sync" |
"async"), "start_at" (epoch seconds), "router": {...extra Router kwargs}}.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import llmrelay

MESSAGES = [{"role": "user", "content": "Hi"}]


def outcome(error: BaseException | None, resp: Any = None) -> str:
    if error is None:
        return f"ok:{resp.meta.deployment}"
    if isinstance(error, llmrelay.NoDeploymentAvailableError):
        return "refused"
    if isinstance(error, llmrelay.APIError):
        return f"error:{type(error).__name__}"
    raise error


def run_sync(router: llmrelay.Router, job: dict[str, Any]) -> tuple[Counter[str], list[Any]]:
    def one(_: int) -> str:
        try:
            return outcome(None, router.completion(model="chat", messages=MESSAGES))
        except llmrelay.APIError as exc:
            return outcome(exc)

    with ThreadPoolExecutor(job["threads"]) as pool:
        outcomes = Counter(pool.map(one, range(job["calls"])))
    statuses = router.deployments()
    router.close()
    return outcomes, statuses


async def run_async(router: llmrelay.Router, job: dict[str, Any]) -> tuple[Counter[str], list[Any]]:
    gate = asyncio.Semaphore(job["threads"])

    async def one() -> str:
        async with gate:
            try:
                return outcome(None, await router.acompletion(model="chat", messages=MESSAGES))
            except llmrelay.APIError as exc:
                return outcome(exc)

    outcomes = Counter(await asyncio.gather(*(one() for _ in range(job["calls"]))))
    statuses = await router.adeployments()
    await router.aclose()
    return outcomes, statuses


def main() -> None:
    job = json.loads(sys.argv[1])
    router = llmrelay.Router(model_list=job["model_list"], redis_url=job["redis_url"],
                             redis_prefix=job["prefix"], **job.get("router", {}))
    delay = job.get("start_at", 0) - time.time()
    if delay > 0:
        time.sleep(delay)
    if job.get("mode", "sync") == "async":
        outcomes, statuses = asyncio.run(run_async(router, job))
    else:
        outcomes, statuses = run_sync(router, job)
    deployments = {d.id: {"cooling": d.cooling_until is not None, "rpm_used": d.rpm_used}
                   for d in statuses}
    print(json.dumps({"outcomes": outcomes, "deployments": deployments}))


if __name__ == "__main__":
    main()
