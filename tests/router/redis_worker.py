"""A Router in its own process, for the shared-state tests: reads a JSON job from argv, makes
the calls (threads), prints what happened as JSON.

Job: {"redis_url", "prefix", "model_list", "calls", "threads", "start_at" (epoch seconds),
"router": {...extra Router kwargs}}.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import llmrelay


def main() -> None:
    job = json.loads(sys.argv[1])
    router = llmrelay.Router(model_list=job["model_list"], redis_url=job["redis_url"],
                             redis_prefix=job["prefix"], **job.get("router", {}))
    messages = [{"role": "user", "content": "Hi"}]

    def one(_: int) -> str:
        try:
            resp = router.completion(model="chat", messages=messages)
            return f"ok:{resp.meta.deployment}"
        except llmrelay.NoDeploymentAvailableError:
            return "refused"
        except llmrelay.APIError as exc:
            return f"error:{type(exc).__name__}"

    delay = job.get("start_at", 0) - time.time()
    if delay > 0:
        time.sleep(delay)
    with ThreadPoolExecutor(job["threads"]) as pool:
        outcomes = Counter(pool.map(one, range(job["calls"])))
    statuses = {d.id: {"cooling": d.cooling_until is not None, "rpm_used": d.rpm_used}
                for d in router.deployments()}
    router.close()
    print(json.dumps({"outcomes": outcomes, "deployments": statuses}))


if __name__ == "__main__":
    main()
