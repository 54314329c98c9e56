"""``/spend/logs``: one row per answered request, filters, pagination, ordering; and the tables'
columns, read straight from the database."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from .gateway import MASTER_KEY, Gateway, error_of, table

ROW_FIELDS = {"request_id", "api_key", "key_alias", "model_group", "deployment", "provider", "model",
              "prompt_tokens", "completion_tokens", "total_tokens", "spend", "start_time",
              "end_time", "status", "status_code", "cache_hit"}


def test_rows_shape_filters_and_order(gw: Gateway) -> None:
    key = gw.create_key(key_alias="spender")
    ids = []
    for model in ("chat", "other", "chat"):
        response = gw.chat(key["key"], model=model)
        assert response.status_code == 200
        ids.append(response.headers["x-request-id"])
    refused = gw.chat(key["key"], model="nope")
    ids.append(refused.headers["x-request-id"])
    page = gw.spend(api_key=key["token"])
    assert page["page"] == 1 and page["page_size"] == 100 and page["total"] == 4
    rows = page["data"]
    assert all(set(r) == ROW_FIELDS for r in rows)
    assert [r["request_id"] for r in rows] == ids[::-1], "newest start_time first"
    assert gw.spend(api_key=key["key"])["total"] == 4, "the key itself filters too"
    chat_rows = gw.spend(api_key=key["token"], model="chat")["data"]
    assert [r["request_id"] for r in chat_rows] == [ids[2], ids[0]]
    rejected = [r for r in rows if r["status"] == "rejected"]
    assert len(rejected) == 1 and rejected[0]["status_code"] == 404
    assert rejected[0]["deployment"] is None and rejected[0]["spend"] is None


def test_pagination(gw: Gateway) -> None:
    key = gw.create_key()
    ids = [gw.chat(key["key"]).headers["x-request-id"] for _ in range(5)]
    seen = []
    for page in (1, 2, 3):
        body = gw.spend(api_key=key["token"], page=page, page_size=2)
        assert body["total"] == 5 and body["page"] == page and body["page_size"] == 2
        seen += [r["request_id"] for r in body["data"]]
    assert seen == ids[::-1]
    assert gw.spend(api_key=key["token"], page=4, page_size=2)["data"] == []


@pytest.mark.parametrize("query,param", [
    ({"page_size": 1001}, "page_size"), ({"page_size": 0}, "page_size"), ({"page": 0}, "page"),
    ({"page": "x"}, "page"), ({"start_date": "yesterday"}, "start_date"),
    ({"end_date": "2025-13-45"}, "end_date"),
])
def test_bad_queries(gw: Gateway, query: dict[str, object], param: str) -> None:
    response = gw.get("/spend/logs", params=query)
    assert response.status_code == 400
    assert error_of(response)["param"] == param


def test_page_size_up_to_1000(gw: Gateway) -> None:
    assert gw.spend(page_size=1000)["page_size"] == 1000


def test_date_filters(gw: Gateway) -> None:
    key = gw.create_key()
    request_id = gw.chat(key["key"]).headers["x-request-id"]
    now = datetime.now(timezone.utc)
    today = now.strftime("%Y-%m-%d")
    tomorrow = (now + timedelta(days=1)).strftime("%Y-%m-%d")
    yesterday = (now - timedelta(days=1)).strftime("%Y-%m-%d")
    def ids(**q: str) -> list[str]:
        return [r["request_id"] for r in gw.spend(api_key=key["token"], **q)["data"]]
    assert ids(start_date=today, end_date=today) == [request_id], "an end date includes its day"
    assert ids(end_date=yesterday) == []
    assert ids(start_date=tomorrow) == []
    earlier = (now - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    assert ids(start_date=earlier) == [request_id]
    later = (now + timedelta(minutes=5)).isoformat()
    assert ids(start_date=later) == []
    # An end_date datetime includes that instant (LiteLLM's lte): a row's own start_time finds it.
    stamp = gw.row(request_id)["start_time"]
    assert ids(start_date=stamp, end_date=stamp) == [request_id]
    # "+01:00" written unescaped in a URL arrives as " 01:00": still the offset, not a 400.
    shifted = (now + timedelta(hours=1, minutes=5)).strftime("%Y-%m-%dT%H:%M:%S") + "+01:00"
    response = gw.http.get(f"/spend/logs?api_key={key['token']}&end_date={shifted}",
                           headers={"authorization": f"Bearer {MASTER_KEY}"})
    assert response.status_code == 200, response.text
    assert [r["request_id"] for r in response.json()["data"]] == [request_id]


def test_equal_start_times_ordered_by_request_id(gw: Gateway, database_url: str) -> None:
    rows = [r for r in table(database_url, "llmrelay_spend_logs")]
    assert rows, "earlier tests left rows"
    data = gw.spend(page_size=1000)["data"]
    keys = [(r["start_time"], r["request_id"]) for r in data]
    assert keys == sorted(keys, key=lambda k: (_neg(k[0]), k[1]))


def _neg(stamp: str) -> float:
    return -datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def test_table_columns_are_the_row_fields(gw: Gateway, database_url: str) -> None:
    gw.chat()
    gw.spend()  # flushes this replica's rows
    rows = table(database_url, "llmrelay_spend_logs")
    assert set(rows[0]) == ROW_FIELDS
    ids = [r["request_id"] for r in rows]
    assert len(ids) == len(set(ids))
    keys = table(database_url, "llmrelay_keys")
    assert {"token", "key_alias", "models", "metadata", "max_budget", "budget_duration",
            "budget_reset_at", "spend", "rpm_limit", "tpm_limit", "max_parallel_requests",
            "expires", "created_at"} <= set(keys[0])


def test_rows_never_hold_a_key(gw: Gateway, database_url: str) -> None:
    key = gw.create_key()
    gw.chat(key["key"])
    gw.spend()
    dump = repr(table(database_url, "llmrelay_spend_logs")) + repr(table(database_url, "llmrelay_keys"))
    assert key["key"] not in dump and "sk-master" not in dump and "sk-emulator" not in dump
