"""Replicate prediction bodies -> ``ModelResponse``, or the request that continues the call.

A create or poll answer that is not finished becomes a ``FollowUp``: poll the prediction (or,
when streaming, open ``urls.stream``), with the cancel request that stops it if the caller
gives up. ``succeeded`` becomes the answer; ``failed`` and ``canceled`` raise.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from ...exceptions import APIError, BadRequestError
from ...types import Choice, Message, ModelResponse, Usage
from ..base import CallContext, FollowUp, HTTPRequest, Step
from .errors import canceled_error, prediction_error
from .request import auth_headers

# Seconds before the next poll, by status: a ``starting`` prediction is waiting for hardware
# (cold boots take seconds to minutes), a ``processing`` one is generating. The official SDK
# polls every 0.5 s. Fixed values keep the parser pure: it is not told how often it polled.
POLL_DELAYS = {"starting": 1.0, "processing": 0.5}


def prediction_of(body: Any) -> dict[str, Any]:
    """The body as a prediction, or ``APIError`` when it is not one."""
    if not isinstance(body, dict) or not isinstance(body.get("id"), str) \
            or not isinstance(body.get("status"), str):
        raise APIError(f"Replicate returned something that is not a prediction: {body!r:.300}",
                       response=body)
    return body


def output_text(output: Any) -> str:
    """LLM output is a list of text pieces (or one string); other outputs are shown as JSON."""
    if output is None:
        return ""
    if isinstance(output, str):
        return output
    if isinstance(output, list) and all(isinstance(p, str) for p in output):
        return "".join(output)
    return json.dumps(output, ensure_ascii=False)


def token_limit(prediction: dict[str, Any], ctx: CallContext) -> int | None:
    """The output limit the prediction ran with: its echoed input first, then our request."""
    for source in (prediction.get("input") or {}, ctx.request):
        for key in ("max_tokens", "max_new_tokens"):
            value = source.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value
    return None


def finish_reason(prediction: dict[str, Any], ctx: CallContext) -> str:
    """Replicate reports no stop reason: ``length`` when the output used the whole limit."""
    produced = (prediction.get("metrics") or {}).get("output_token_count")
    limit = token_limit(prediction, ctx)
    if isinstance(produced, int) and limit is not None and produced >= limit:
        return "length"
    return "stop"


def usage_of(prediction: dict[str, Any]) -> Usage | None:
    """Token counts from ``metrics``; ``None`` (unknown) when the model reports none."""
    metrics = prediction.get("metrics") or {}
    prompt, completion = metrics.get("input_token_count"), metrics.get("output_token_count")
    if not isinstance(prompt, int) and not isinstance(completion, int):
        return None
    return Usage.of(prompt if isinstance(prompt, int) else 0,
                    completion if isinstance(completion, int) else 0)


def created_of(prediction: dict[str, Any]) -> int | None:
    """``created_at`` (RFC 3339 with up to nanoseconds) as Unix seconds."""
    stamp = prediction.get("created_at")
    if not isinstance(stamp, str) or len(stamp) < 19:
        return None
    try:
        moment = datetime.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return None
    return int(moment.replace(tzinfo=timezone.utc).timestamp())


def to_response(prediction: dict[str, Any], ctx: CallContext) -> ModelResponse:
    fields: dict[str, Any] = {}
    created = created_of(prediction)
    if created is not None:
        fields["created"] = created
    return ModelResponse(
        id=prediction["id"],
        model=ctx.model,
        choices=[Choice(message=Message(content=output_text(prediction.get("output"))),
                        finish_reason=finish_reason(prediction, ctx))],
        usage=usage_of(prediction),
        **fields,
    )


def prediction_url(prediction: dict[str, Any], ctx: CallContext) -> str:
    # Built from our base URL rather than ``urls.get``, which always names api.replicate.com
    # and would step around a proxy given as ``api_base``; the two are the same resource.
    return f"{ctx.settings.base_url}/predictions/{prediction['id']}"


def cancel_request(prediction: dict[str, Any], ctx: CallContext) -> HTTPRequest:
    return HTTPRequest("POST", prediction_url(prediction, ctx) + "/cancel", auth_headers(ctx.settings))


def poll(prediction: dict[str, Any], ctx: CallContext) -> FollowUp:
    return FollowUp(
        HTTPRequest("GET", prediction_url(prediction, ctx), auth_headers(ctx.settings)),
        delay=POLL_DELAYS[prediction["status"]],
        cancel=cancel_request(prediction, ctx),
    )


def open_stream(prediction: dict[str, Any], ctx: CallContext) -> FollowUp:
    """The SSE of ``urls.stream`` (on Replicate's streaming host); models without one cannot stream."""
    stream = (prediction.get("urls") or {}).get("stream")
    if not isinstance(stream, str) or not stream:
        raise BadRequestError(
            f"Replicate model {ctx.model!r} does not stream (its prediction has no urls.stream);"
            " call it without stream=True", code="stream_not_supported",
        )
    headers = {**auth_headers(ctx.settings), "accept": "text/event-stream",
               "cache-control": "no-store"}
    return FollowUp(HTTPRequest("GET", stream, headers, stream=True),
                    cancel=cancel_request(prediction, ctx),
                    state={"prediction_id": prediction["id"], "created": created_of(prediction)})


def parse_response(body: Any, ctx: CallContext) -> Step:
    """A prediction -> the answer when ``succeeded``; a poll (or the stream) while it runs.

    >>> parse_response({"id": "p1", "status": "succeeded", "output": ["", "Hi"]}, ctx)
    ModelResponse(id='p1', choices=[Choice(message=Message(content='Hi'), ...)], ...)
    """
    prediction = prediction_of(body)
    status = prediction["status"]
    if status == "failed":
        error = prediction.get("error")
        text = error if isinstance(error, str) or error is None else json.dumps(error)
        raise prediction_error(text, prediction["id"])
    if status == "canceled":
        raise canceled_error(prediction["id"])
    if ctx.request.get("stream"):
        return open_stream(prediction, ctx)
    if status == "succeeded":
        return to_response(prediction, ctx)
    if status in POLL_DELAYS:
        return poll(prediction, ctx)
    raise APIError(f"Replicate prediction {prediction['id']} has an unknown status {status!r}",
                   response=body)
