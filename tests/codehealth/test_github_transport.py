"""The transport's rules, against the fake GitHub: pages, ETags, rate limits, errors, hosts."""

from __future__ import annotations

import pytest

from codehealth.github import (
    Forbidden,
    GitHubClient,
    GitHubError,
    GitHubRepo,
    MemoryETagCache,
    NotFound,
    RateLimited,
)
from codehealth.github.cache import CachedAnswer
from tests.codehealth.conftest import FakeClock
from tests.codehealth.fake_github import (
    REPO,
    TOKEN,
    FakeGitHub,
    Scripted,
    primary_limit,
    secondary_limit,
)


def test_pagination_follows_link_over_every_page(repo: GitHubRepo, fake_github: FakeGitHub) -> None:
    run_id = fake_github.add_check_run(name="lint", app_slug="octoapp", annotations=230)
    results = repo.ci_results(fake_github.head)
    (only,) = results.check_runs
    assert only.check_run.id == run_id
    assert [note.start_line for note in only.annotations] == list(range(1, 231))
    pages = fake_github.sent("GET", "/annotations")
    assert len(pages) == 3
    assert "per_page=100" in pages[0].path
    assert "page=2" in pages[1].path and "page=3" in pages[2].path


def test_pagination_keeps_the_query_on_later_pages(
    repo: GitHubRepo, fake_github: FakeGitHub
) -> None:
    for number in range(150):
        fake_github.add_workflow_run(name=f"run {number}")
    runs = repo.workflow_runs(fake_github.head)
    assert len(runs) == 150
    assert len({run.id for run in runs}) == 150
    second = fake_github.sent("GET", "/actions/runs")[1]
    assert f"head_sha={fake_github.head}" in second.path and "page=2" in second.path


def test_a_304_is_answered_from_the_cache_and_counted(
    repo: GitHubRepo, github: GitHubClient, fake_github: FakeGitHub
) -> None:
    first = repo.repository()
    quota_after_first = fake_github.remaining
    second = repo.repository()
    assert second == first
    again = fake_github.requests[-1]
    assert again.headers["If-None-Match"].startswith('W/"')
    assert github.stats.not_modified == 1
    assert github.stats.requests == 2
    assert fake_github.remaining == quota_after_first  # GitHub charges nothing for a 304
    assert github.rate_limit is not None and github.rate_limit.remaining == quota_after_first


def test_cached_pages_keep_their_links(repo: GitHubRepo, fake_github: FakeGitHub) -> None:
    fake_github.add_check_run(name="lint", app_slug="octoapp", annotations=150)
    first = repo.ci_results(fake_github.head)
    again = repo.ci_results(fake_github.head)
    assert len(again.check_runs[0].annotations) == 150 == len(first.check_runs[0].annotations)
    assert len(fake_github.sent("GET", "/annotations")) == 4  # two pages, twice


def test_a_changed_resource_replaces_the_cached_body(
    repo: GitHubRepo, github: GitHubClient, fake_github: FakeGitHub
) -> None:
    assert repo.ref_sha("master") == fake_github.head
    fake_github.refs["master"] = fake_github.commit({"a.txt": b"a"}, parents=[fake_github.head])
    assert repo.ref_sha("master") == fake_github.refs["master"]
    assert github.stats.not_modified == 0


def test_the_memory_cache_is_bounded_by_entries_and_bytes() -> None:
    cache = MemoryETagCache(max_entries=2, max_bytes=800)
    for key in ("a", "b", "c"):
        cache.put(key, CachedAnswer('"e"', b"x" * 10))
    assert cache.get("a") is None and cache.get("c") is not None
    assert len(cache) == 2
    cache.put("big", CachedAnswer('"e"', b"x" * 101))  # past an eighth of the budget
    assert cache.get("big") is None
    for key in ("d", "e"):
        cache.put(key, CachedAnswer('"e"', b"x" * 100))
    cache.get("d")  # used last: kept over "e" when bytes run out
    cache = MemoryETagCache(max_entries=10, max_bytes=800)
    for key in "abcdefghi":
        cache.put(key, CachedAnswer('"e"', b"x" * 100))
    assert cache.size_bytes <= 800 and cache.get("a") is None and cache.get("i") is not None


def test_a_shared_cache_never_revalidates_with_another_tokens_answer(
    fake_github: FakeGitHub, clock: FakeClock
) -> None:
    shared = MemoryETagCache()
    owner = GitHubClient(token=TOKEN, base_url=fake_github.base_url, cache=shared)
    owner.repo(REPO).repository()
    other = GitHubClient(token="ghp_other", base_url=fake_github.base_url, cache=shared)
    with pytest.raises(GitHubError) as caught:
        other.repo(REPO).repository()
    assert caught.value.status == 401 and caught.value.message == "Bad credentials"
    assert "If-None-Match" not in fake_github.requests[-1].headers


def test_the_primary_limit_is_waited_out_until_its_reset(
    repo: GitHubRepo, github: GitHubClient, fake_github: FakeGitHub, clock: FakeClock
) -> None:
    fake_github.script(primary_limit(reset=int(clock.now) + 120))
    assert repo.repository().default_branch == "master"
    assert len(clock.sleeps) == 1 and 119 <= clock.sleeps[0] <= 122
    assert len(fake_github.requests) == 2
    assert github.stats.rate_limit_waits == 1


def test_a_429_primary_limit_is_waited_out_too(
    repo: GitHubRepo, fake_github: FakeGitHub, clock: FakeClock
) -> None:
    fake_github.script(primary_limit(reset=int(clock.now) + 10, status=429))
    repo.repository()
    assert len(clock.sleeps) == 1 and 9 <= clock.sleeps[0] <= 12


def test_a_primary_limit_past_the_max_wait_raises_and_sends_nothing_more(
    repo: GitHubRepo, fake_github: FakeGitHub, clock: FakeClock
) -> None:
    reset = int(clock.now) + 3600
    fake_github.script(primary_limit(reset=reset))
    with pytest.raises(RateLimited) as caught:
        repo.repository()
    assert caught.value.kind == "primary"
    assert caught.value.status == 403
    assert caught.value.wait_seconds > 900
    assert abs(caught.value.retry_at.timestamp() - reset) <= 2
    assert "API rate limit exceeded" in caught.value.message
    assert caught.value.documentation_url.endswith("#primary-rate-limit")
    assert clock.sleeps == []
    with pytest.raises(RateLimited):
        repo.ref_sha("master")
    assert len(fake_github.requests) == 1  # GitHub was not asked again before the reset
    clock.now = reset + 2
    assert repo.ref_sha("master") == fake_github.head


def test_the_secondary_limit_honours_retry_after(
    repo: GitHubRepo, fake_github: FakeGitHub, clock: FakeClock
) -> None:
    fake_github.script(secondary_limit(retry_after=30))
    repo.repository()
    assert clock.sleeps == [30.0]
    assert len(fake_github.requests) == 2


def test_a_secondary_limit_without_retry_after_waits_a_minute_then_longer(
    repo: GitHubRepo, fake_github: FakeGitHub, clock: FakeClock
) -> None:
    fake_github.script(secondary_limit(retry_after=None), secondary_limit(retry_after=None))
    repo.repository()
    assert clock.sleeps == [60.0, 120.0]


def test_a_secondary_limit_that_persists_gives_up(
    repo: GitHubRepo, fake_github: FakeGitHub, clock: FakeClock
) -> None:
    fake_github.script(*[secondary_limit(retry_after=5) for _ in range(4)])
    with pytest.raises(RateLimited) as caught:
        repo.repository()
    assert caught.value.kind == "secondary"
    assert "secondary rate limit" in caught.value.message
    assert clock.sleeps == [5.0, 5.0, 5.0]
    assert len(fake_github.requests) == 4


def test_a_403_that_is_no_limit_is_forbidden_at_once(
    repo: GitHubRepo, fake_github: FakeGitHub, clock: FakeClock
) -> None:
    fake_github.script(
        Scripted(403, {"message": "Resource not accessible by integration", "status": "403"})
    )
    with pytest.raises(Forbidden, match="Resource not accessible by integration"):
        repo.repository()
    assert clock.sleeps == []


def test_errors_carry_status_message_and_documentation(repo: GitHubRepo) -> None:
    with pytest.raises(NotFound) as caught:
        repo.blob("0" * 40)
    error = caught.value
    assert (error.status, error.message, error.method) == (404, "Not Found", "GET")
    assert error.path == f"/api/v3/repos/{REPO}/git/blobs/{'0' * 40}"
    assert str(error) == (
        f"GitHub 404 (GET {error.path}): Not Found - see https://docs.github.com/rest"
    )


def test_an_unreachable_github_is_a_github_error(fake_github: FakeGitHub) -> None:
    url = fake_github.base_url
    fake_github.stop()
    client = GitHubClient(token=TOKEN, base_url=url, timeout=2)
    with pytest.raises(GitHubError) as caught:
        client.repo(REPO).repository()
    assert caught.value.status == 0
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert TOKEN not in str(caught.value)


def test_a_next_link_to_another_host_is_refused(repo: GitHubRepo, fake_github: FakeGitHub) -> None:
    elsewhere = f'<{fake_github.artifact_host.url}/api/v3/repos/{REPO}/pulls?page=2>; rel="next"'
    fake_github.script(Scripted(200, [], {"Link": elsewhere}, path="/pulls"))
    with pytest.raises(GitHubError, match="refused to send the token"):
        repo.open_pull_requests()
    assert fake_github.artifact_host.requests == []


def test_a_malformed_repository_name_is_refused_at_once(github: GitHubClient) -> None:
    with pytest.raises(ValueError, match="owner/name"):
        github.repo("just-a-name")
