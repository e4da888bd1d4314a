"""Any JSON body, however odd, gets an answer or a 4xx in OpenAI's error shape: never a 500.

Bodies are generated around the request's real shape (the fields a client sends, each either
well-formed or any JSON value at all), plain and streamed, through the default offline
provider and through OpenRouter (the fake one, over HTTP).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engine.services import create_api_token
from tests.factories import UserFactory
from tests.routing.fake_openrouter import FakeOpenRouter, completion, streamed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("routing_defaults")]

URL = "/v1/chat/completions"
ROLES = ["system", "developer", "user", "assistant", "tool"]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
any_json = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


def either(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the well-formed value, one time in six any JSON in its place: enough bodies
    get through every check to reach the provider and back."""
    # Hypothesis favours the ends of a range, so the rare branch sits in its middle.
    return st.integers(min_value=0, max_value=6).flatmap(lambda n: any_json if n == 3 else good)


schema = st.fixed_dictionaries(
    {"type": either(st.just("object"))},
    optional={
        "properties": either(
            st.dictionaries(
                st.sampled_from(["limit", "id", "q", "kind"]),
                st.fixed_dictionaries(
                    {},
                    optional={
                        "type": either(st.sampled_from(["string", "integer", "array", "object"])),
                        "minimum": any_json,
                        "maxLength": any_json,
                        "enum": any_json,
                        "default": any_json,
                    },
                ),
                max_size=3,
            )
        ),
        "required": either(st.lists(st.sampled_from(["limit", "id", "q", "kind"]), max_size=3)),
    },
)
tool = either(
    st.fixed_dictionaries(
        {"type": st.just("function")},
        optional={
            "function": either(
                st.fixed_dictionaries(
                    {"name": either(st.sampled_from(["list_tasks", "get_task", "x"]))},
                    optional={"description": any_json, "parameters": either(schema)},
                )
            )
        },
    )
)
tool_call = either(
    st.fixed_dictionaries(
        {
            "id": either(st.text(max_size=10)),
            "type": st.just("function"),
            "function": either(
                st.fixed_dictionaries(
                    {"name": either(st.text(max_size=10)), "arguments": either(st.text())}
                )
            ),
        }
    )
)
message = either(
    st.fixed_dictionaries(
        {"role": either(st.sampled_from(ROLES))},
        optional={
            "content": either(st.text(max_size=60)),
            "tool_calls": either(st.lists(tool_call, max_size=2)),
            "tool_call_id": any_json,
            "name": any_json,
        },
    )
)
body = either(
    st.fixed_dictionaries(
        {
            "model": either(st.sampled_from(["mode:ops", "mode:code", "openai/gpt-4o-mini"])),
            "messages": either(st.lists(message, min_size=1, max_size=3)),
        },
        optional={
            "tools": either(st.lists(tool, max_size=2)),
            "stream": either(st.booleans()),
            "stream_options": any_json,
            "max_tokens": either(st.integers(min_value=1, max_value=10**9)),
            "max_completion_tokens": either(st.integers(min_value=1, max_value=10**6)),
            "n": either(st.just(1)),
            "user": any_json,
            "temperature": any_json,
            "tool_choice": any_json,
        },
    )
)


@pytest.fixture(params=["offline", "openrouter"])
def client(request: pytest.FixtureRequest, settings: Any) -> Client:
    if request.param == "openrouter":
        fake: FakeOpenRouter = request.getfixturevalue("openrouter_settings")
        fake.default = completion("fine", model="openai/gpt-4o-mini")
        fake.default_stream = streamed(["fine"], model="openai/gpt-4o-mini")
    else:
        settings.OPENROUTER_API_KEY = ""
        settings.ROUTING_PROVIDER = "auto"
    _, raw = create_api_token(user=UserFactory(), name="fuzz")
    return Client(headers={"Authorization": f"Bearer {raw}"})


def assert_openai_error(response: Any) -> None:
    error = json.loads(response.content)["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and error["message"]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(payload=body)
def test_no_body_gets_a_500(client: Client, payload: Any) -> None:
    response = client.post(URL, data=json.dumps(payload), content_type="application/json")
    event(f"status {response.status_code}")  # --hypothesis-show-statistics: how deep they got

    assert response.status_code < 500, response.content[:500]
    if response.status_code != 200:
        assert_openai_error(response)
    elif response.streaming:
        chunks = b"".join(response.streaming_content).decode().split("\n\n")
        data = [c.removeprefix("data: ") for c in chunks if c.startswith("data: ")]
        assert data[-1] == "[DONE]", data[-3:]
        assert all("error" not in json.loads(d) for d in data[:-1])
    else:
        assert json.loads(response.content)["object"] == "chat.completion"
