"""logger_fn and verbose: what is reported, and that no key ever leaks."""

from __future__ import annotations

import json
from typing import Any

import pytest

import llmrelay
from llmrelay.config import ProviderSettings, mask_secret
from llmrelay.testing import Emulator
from tests.helpers import MESSAGES, call

MODES = ["sync", "async"]


def kwargs(emulator: Emulator, **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "api_base": emulator.base_url("openai"),
            "api_key": emulator.api_key, **extra}


@pytest.mark.parametrize("mode", MODES)
def test_logger_fn_gets_a_record_before_and_after_each_request(
    mode: str, emulator: Emulator
) -> None:
    records: list[dict[str, Any]] = []
    call(mode, logger_fn=records.append, **kwargs(emulator))
    assert [r["event"] for r in records] == ["pre_api_call", "post_api_call"]
    before, after = records
    assert before["provider"] == "openai" and before["model"] == "gpt-4o-mini"
    assert before["url"] == emulator.base_url("openai") + "/chat/completions"
    assert before["body"]["messages"] == MESSAGES
    assert before["headers"]["authorization"] == mask_secret(f"Bearer {emulator.api_key}")
    assert after["status"] == 200 and after["latency"] > 0
    assert "Hello from the emulator" in after["response"]


def test_retries_are_logged_per_attempt_with_the_error(emulator: Emulator) -> None:
    records: list[dict[str, Any]] = []
    emulator.fail(503, headers={"retry-after-ms": "1"})
    llmrelay.completion(messages=MESSAGES, logger_fn=records.append, **kwargs(emulator))
    assert [(r["event"], r["attempt"]) for r in records] == [
        ("pre_api_call", 0), ("post_api_call", 0), ("pre_api_call", 1), ("post_api_call", 1)]
    assert records[1]["status"] == 503 and "ServiceUnavailableError" in records[1]["exception"]


def test_the_raw_key_never_appears_in_logs_errors_or_reprs(
    emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "sk-wrong-but-secret-key-123456"
    records: list[dict[str, Any]] = []
    with pytest.raises(llmrelay.AuthenticationError) as info:
        llmrelay.completion(messages=MESSAGES, logger_fn=records.append, verbose=True,
                            **kwargs(emulator, api_key=secret),
                            extra_body={"echo": secret})
    printed = capsys.readouterr().err
    assert "llmrelay:" in printed
    assert records
    for text in (json.dumps(records, default=str), printed, str(info.value), repr(info.value),
                 json.dumps(info.value.response)):
        assert secret not in text
    settings = ProviderSettings(api_key=secret, base_url="http://x")
    assert secret not in repr(settings)


def test_mask_keeps_only_the_ends() -> None:
    assert mask_secret("sk-abcdefghijklmnop") == "sk-a****mnop"
    assert mask_secret("short") == "****"
    assert mask_secret(None) == ""


def test_no_hooks_no_records(emulator: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    llmrelay.completion(messages=MESSAGES, **kwargs(emulator))
    assert capsys.readouterr().err == ""


def test_a_key_echoed_by_the_provider_is_masked_in_the_error(emulator: Emulator) -> None:
    emulator.fail(401, body={"error": {"message": f"bad key {emulator.api_key}", "type": "x"}})
    with pytest.raises(llmrelay.AuthenticationError) as info:
        llmrelay.completion(messages=MESSAGES, **kwargs(emulator))
    assert emulator.api_key not in str(info.value)
    assert emulator.api_key not in json.dumps(info.value.response)
    assert mask_secret(emulator.api_key) in info.value.message


@pytest.mark.parametrize("model", ["gpt-4o-mini", "claude-3-5-haiku-20241022", "command-r",
                                   "replicate/meta/meta-llama-3-8b-instruct",
                                   "openrouter/openai/gpt-4o", "azure/gpt-4o"])
def test_prepared_requests_never_show_the_key(model: str) -> None:
    from llmrelay.call import prepare

    secret = "sk-very-secret-key-000111"
    call = prepare(model, MESSAGES, {}, api_key=secret, api_base="http://127.0.0.1:9",
                   options={}, timeout=None, force_timeout=None, azure=False, logger_fn=None,
                   verbose=False, num_retries=None, drop_params=False, extra_headers=None,
                   extra_body=None)
    assert secret in str(dict(call.request.headers).values())  # it is sent...
    for text in (repr(call.request), repr(call.ctx), repr(call.ctx.settings)):
        assert secret not in text  # ...and never shown
