"""Each provider's known quirks, end to end against the family emulator: what llmrelay sends
(the emulator refuses what the real API refuses) and what comes back."""

from __future__ import annotations

from typing import Any

import pytest

import llmrelay
from llmrelay.testing import Emulator
from tests.helpers import call
from tests.providers.compat.family import TOOLS, at

MODES = ["sync", "async"]
FOREIGN_HISTORY: list[dict[str, Any]] = [
    {"role": "developer", "content": "Be brief."},
    {"role": "user", "content": "Weather in Paris?", "name": "ann"},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_Zx81kLq0aW2mN4pR7sT9vB3c", "type": "function",
         "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
    {"role": "tool", "tool_call_id": "call_Zx81kLq0aW2mN4pR7sT9vB3c", "content": "sunny"},
]


@pytest.mark.parametrize("mode", MODES)
def test_mistral_renames_and_fits_the_request(mode: str, emulator: Emulator) -> None:
    resp = call(mode, **at(emulator, "mistral", messages=FOREIGN_HISTORY, tools=TOOLS,
                           tool_choice="required", seed=7, max_completion_tokens=40,
                           stream_options={"include_usage": True}, stream=True))
    assert resp[-1].usage is not None  # usage still comes, without stream_options on the wire
    body = emulator.requests[-1].body
    assert (body["random_seed"], body["max_tokens"], body["tool_choice"]) == (7, 40, "any")
    assert not {"seed", "max_completion_tokens", "stream_options"} & set(body)
    system, user, assistant, tool = body["messages"]
    assert system == {"role": "system", "content": "Be brief."}
    assert user == {"role": "user", "content": "Weather in Paris?"}
    call_id = assistant["tool_calls"][0]["id"]
    assert len(call_id) == 9 and call_id.isalnum() and tool["tool_call_id"] == call_id


def test_mistral_refuses_what_its_api_refuses(emulator: Emulator) -> None:
    with pytest.raises(llmrelay.UnsupportedParamsError, match="user"):
        call("sync", **at(emulator, "mistral", user="u-1"))
    assert emulator.count() == 0
    resp = call("sync", **at(emulator, "mistral", user="u-1", logit_bias={"1": 1},
                             drop_params=True))
    assert resp.choices[0].message.content
    assert not {"user", "logit_bias"} & set(emulator.requests[-1].body)
    # An extra the API does not know comes back as its 422, naming the field.
    with pytest.raises(llmrelay.UnsupportedParamsError) as info:
        call("sync", **at(emulator, "mistral", store=True))
    assert (info.value.status_code, info.value.param) == (422, "store")  # type: ignore[attr-defined]
    assert "Extra inputs are not permitted" in info.value.message


@pytest.mark.parametrize("mode", MODES)
def test_groq_leaves_out_names_and_fans_out_n(mode: str, emulator: Emulator) -> None:
    resp = call(mode, **at(emulator, "groq", messages=FOREIGN_HISTORY[:2], n=2))
    assert len(resp.choices) == 2 and emulator.count("groq") == 2
    for request in emulator.requests:
        assert "n" not in request.body and all("name" not in m for m in request.body["messages"])
    with pytest.raises(llmrelay.UnsupportedParamsError, match="logprobs"):
        call(mode, **at(emulator, "groq", logprobs=True))


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("mode", MODES)
def test_groq_tool_use_failed(mode: str, stream: bool, emulator: Emulator) -> None:
    tools = [{"type": "function", "function": {"name": "broken_lookup", "parameters": {
        "type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}}}]
    with pytest.raises(llmrelay.BadRequestError) as info:
        call(mode, **at(emulator, "groq", tools=tools, stream=stream))
    assert info.value.code == "tool_use_failed" and info.value.status_code == 400
    assert "did not match schema" in info.value.message


@pytest.mark.parametrize("mode", MODES)
def test_deepseek_reasoner_takes_only_default_sampling(mode: str, emulator: Emulator) -> None:
    kw = at(emulator, "deepseek", model="deepseek/deepseek-reasoner")
    with pytest.raises(llmrelay.UnsupportedParamsError, match="temperature"):
        call(mode, **kw, temperature=0.2)
    with pytest.raises(llmrelay.UnsupportedParamsError, match="logprobs"):
        call(mode, **kw, logprobs=True)
    resp = call(mode, **kw, temperature=0.2, logprobs=True, top_p=1, drop_params=True)
    assert resp.usage.completion_tokens_details.reasoning_tokens == 12
    assert not {"temperature", "logprobs", "top_p"} & set(emulator.requests[-1].body)
    assert llmrelay.supports("deepseek/deepseek-chat", "temperature")
    assert not llmrelay.supports("deepseek/deepseek-reasoner", "temperature")


def test_deepseek_sends_reasoning_back_only_within_the_tool_loop(emulator: Emulator) -> None:
    old = {"role": "assistant", "content": "Hi!", "reasoning_content": "old thoughts"}
    loop = {"role": "assistant", "content": None, "reasoning_content": "current thoughts",
            "tool_calls": FOREIGN_HISTORY[2]["tool_calls"]}
    messages = [{"role": "user", "content": "Hello"}, old,
                {"role": "user", "content": "Weather?"}, loop, FOREIGN_HISTORY[3]]
    call("sync", **at(emulator, "deepseek", messages=messages))
    sent = emulator.requests[-1].body["messages"]
    assert "reasoning_content" not in sent[1] and sent[3]["reasoning_content"] == "current thoughts"


@pytest.mark.parametrize("mode", MODES)
def test_deepseek_sends_developer_messages_as_system(mode: str, emulator: Emulator) -> None:
    # The API has no developer role: it answers 422 "unknown variant `developer`".
    resp = call(mode, **at(emulator, "deepseek", messages=FOREIGN_HISTORY))
    assert resp.choices[0].message is not None
    sent = emulator.requests[-1].body["messages"]
    assert sent[0] == {"role": "system", "content": "Be brief."}
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "tool"]


@pytest.mark.parametrize("model", ["xai/grok-4", "xai/grok-3-mini", "xai/grok-code-fast-1"])
def test_xai_reasoning_models_refuse_penalties_and_stop(model: str, emulator: Emulator) -> None:
    for param, value in (("presence_penalty", 0.5), ("frequency_penalty", 0.5), ("stop", ["x"])):
        with pytest.raises(llmrelay.UnsupportedParamsError, match=param):
            call("sync", **at(emulator, "xai", model=model, **{param: value}))
    assert emulator.count() == 0
    call("sync", **at(emulator, "xai", model=model, stop=["x"], drop_params=True))
    assert "stop" not in emulator.requests[-1].body


def test_xai_reasoning_effort_only_on_grok_3_mini(emulator: Emulator) -> None:
    resp = call("sync", **at(emulator, "xai", model="xai/grok-3-mini", reasoning_effort="high"))
    assert emulator.requests[-1].body["reasoning_effort"] == "high"
    assert resp.usage.completion_tokens_details.reasoning_tokens > 0
    with pytest.raises(llmrelay.UnsupportedParamsError, match="reasoning_effort"):
        call("sync", **at(emulator, "xai", model="xai/grok-4", reasoning_effort="high"))
    # The API's own refusal, had it been sent (e.g. a model the table does not know yet).
    with pytest.raises(llmrelay.UnsupportedParamsError, match="reasoningEffort"):
        call("sync", **at(emulator, "xai", model="xai/grok-4-0709", stop=["x"],
                          drop_params=True, extra_body={"reasoning_effort": "low"}))
    assert llmrelay.supports("xai/grok-4-fast-non-reasoning", "stop")


@pytest.mark.parametrize(("name", "model", "sent"), [
    ("together_ai", "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo",
     "meta-llama/Llama-3.3-70B-Instruct-Turbo"),
    ("fireworks_ai", "fireworks_ai/accounts/fireworks/models/llama-v3p1-8b-instruct",
     "accounts/fireworks/models/llama-v3p1-8b-instruct"),
])
def test_model_ids_with_slashes(name: str, model: str, sent: str, emulator: Emulator) -> None:
    assert llmrelay.get_provider(model) == (name, sent)
    resp = call("sync", **at(emulator, name, model=model, top_k=40, repetition_penalty=1.1))
    assert resp.choices[0].message.content
    body = emulator.requests[-1].body
    assert (body["model"], body["top_k"], body["repetition_penalty"]) == (sent, 40, 1.1)


@pytest.mark.parametrize("mode", MODES)
def test_perplexity_keeps_citations_and_streams_openai_chunks(mode: str, emulator: Emulator) -> None:
    resp = call(mode, **at(emulator, "perplexity", search_recency_filter="week"))
    assert resp.citations == ["https://example.com/emulator-a", "https://example.com/emulator-b"]
    assert resp.search_results[0]["title"] == "Emulator A"
    assert resp.usage.num_search_queries == 1
    assert emulator.requests[-1].body["search_recency_filter"] == "week"
    chunks = call(mode, **at(emulator, "perplexity", stream=True,
                             stream_options={"include_usage": True}))
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert all("message" not in c.choices[0].model_extra for c in chunks if c.choices)  # type: ignore[operator]
    assert chunks[0].citations == resp.citations
    assert [c for c in chunks if c.usage] == [chunks[-1]]
    assert chunks[-1].usage.total_tokens == resp.usage.total_tokens


def test_perplexity_refuses_tools_and_reasons_in_content(emulator: Emulator) -> None:
    with pytest.raises(llmrelay.UnsupportedParamsError, match="tools"):
        call("sync", **at(emulator, "perplexity", tools=TOOLS))
    resp = call("sync", **at(emulator, "perplexity", model="perplexity/sonar-reasoning-pro"))
    assert resp.choices[0].message.content.startswith("<think>The user wrote")


def test_ollama_refuses_tool_choice_it_would_ignore(emulator: Emulator) -> None:
    with pytest.raises(llmrelay.UnsupportedParamsError, match="tool_choice"):
        call("sync", **at(emulator, "ollama", tools=TOOLS, tool_choice="required"))
    resp = call("sync", **at(emulator, "ollama", tools=TOOLS, tool_choice="auto"))
    assert resp.choices[0].finish_reason == "tool_calls"
    assert "tool_choice" not in emulator.requests[-1].body


@pytest.mark.parametrize("mode", MODES)
def test_hosted_vllm_context_window(mode: str, emulator: Emulator) -> None:
    with pytest.raises(llmrelay.ContextWindowExceededError, match="maximum context length"):
        call(mode, **at(emulator, "hosted_vllm", max_tokens=40000))


def test_deepseek_keep_alive_comments_are_ignored(emulator: Emulator) -> None:
    chunks = call("sync", **at(emulator, "deepseek", stream=True))
    assert llmrelay.stream_chunk_builder(chunks).choices[0].message.content.endswith("Hi there")
