"""Every page and error of the web UI, over HTTP (Starlette's TestClient) on a real SQLite file."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from starlette.testclient import TestClient
from tests.support.ui_seed import (
    NAMESPACE,
    OTHER_NAMESPACE,
    Seeded,
    config_for,
    seed_ui_database,
)

from memory_core import SyncSelfLearningMemory
from memory_core.errors import MissingDependencyError
from memory_core.ui import create_app, require_ui
from memory_core.ui.app import TOKEN_COOKIE

UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture(scope="module")
def client(ui_memory: SyncSelfLearningMemory) -> Iterator[TestClient]:
    """A read-only app on the seeded database."""
    with TestClient(create_app(ui_memory)) as test_client:
        yield test_client


def links(html: str, kind: str) -> list[str]:
    """Ids linked as /episodes/ID or /patterns/ID, in page order, without repeats."""
    return list(dict.fromkeys(re.findall(rf'href="/{kind}/({UUID_RE})', html)))


def text(html: str) -> str:
    """The page's visible text, roughly: tags removed, whitespace collapsed."""
    no_tags = re.sub(r"<(script|style)[^>]*>.*?</\1>|<[^>]+>", " ", html, flags=re.S)
    return " ".join(unescape(no_tags).split())


# ------------------------------------------------------------------- overview


def test_overview_shows_counts_curve_recent_episodes_and_top_patterns(
    client: TestClient, seeded: Seeded
) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    body = text(page.text)
    assert f"Overview {NAMESPACE}" in body
    assert "25 episodes" in body  # 24 completed + 1 in flight
    assert "24 completed" in body
    assert "1 in flight" in body
    assert "79% success rate" in body  # every fifth of 24 fails: 19/24
    assert "Learning curve" in body
    assert page.text.count('<svg class="chart"') == 2  # learning curve + timeline
    recent = links(page.text, "episodes")
    assert len(recent) == 10
    assert str(seeded.in_flight_id) in recent  # newest first
    top = links(page.text, "patterns")
    assert 1 <= len(top) <= 10
    # the namespace switcher lists every namespace with its episode count
    assert f'<option value="{NAMESPACE}" selected>{NAMESPACE} (25)</option>' in page.text
    assert f'<option value="{OTHER_NAMESPACE}">{OTHER_NAMESPACE} (2)</option>' in page.text


def test_the_switcher_opens_another_namespace_and_keeps_it_in_links(
    client: TestClient, seeded: Seeded
) -> None:
    page = client.get("/", params={"ns": OTHER_NAMESPACE})
    assert page.status_code == 200
    assert "2 episodes" in text(page.text)
    assert f'href="/episodes?ns={OTHER_NAMESPACE}"' in page.text
    assert set(links(page.text, "episodes")) == {str(i) for i in seeded.other_ids}
    # a namespace never sees another's data
    other_id = seeded.other_ids[0]
    assert client.get(f"/episodes/{other_id}").status_code == 404
    assert client.get(f"/episodes/{other_id}", params={"ns": OTHER_NAMESPACE}).status_code == 200
    assert (
        client.get(f"/episodes/{seeded.episode_ids[0]}", params={"ns": OTHER_NAMESPACE}).status_code
        == 404
    )


def test_unknown_and_malformed_namespaces(client: TestClient) -> None:
    missing = client.get("/", params={"ns": "nobody-here"})
    assert missing.status_code == 404
    assert "no namespace 'nobody-here'" in text(missing.text)
    bad = client.get("/episodes", params={"ns": "bad namespace!"})
    assert bad.status_code == 400
    assert "invalid namespace" in text(bad.text)


# ------------------------------------------------------------------- episodes


def test_episode_list_pages_with_counts(client: TestClient, seeded: Seeded) -> None:
    first = client.get("/episodes", params={"per_page": 10})
    assert first.status_code == 200
    assert "25 matching" in text(first.text)
    assert "page 1 of 3" in text(first.text)
    last = client.get("/episodes", params={"per_page": 10, "page": 3})
    assert "page 3 of 3" in text(last.text)
    shown = [
        *links(first.text, "episodes"),
        *links(client.get("/episodes", params={"per_page": 10, "page": 2}).text, "episodes"),
        *links(last.text, "episodes"),
    ]
    assert len(shown) == 25
    assert set(shown) == {str(i) for i in [*seeded.episode_ids, seeded.in_flight_id]}
    assert 'rel="next" href="/episodes?page=2&amp;per_page=10"' in first.text
    beyond = client.get("/episodes", params={"page": 9})
    assert beyond.status_code == 200
    assert "No episode matches" in text(beyond.text)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"outcome": "failure"}, 5),
        ({"outcome": "success"}, 19),
        ({"outcome": "in_flight"}, 1),
        ({"domain": "data-pipeline"}, 6),
        ({"task_type": "testing"}, 6),
        ({"domain": "web-api", "outcome": "failure"}, 3),
        ({"since": "2000-01-01", "until": "2999-01-01"}, 25),
        ({"until": "2000-01-01"}, 0),
        ({"min_reward": "1.0"}, None),
    ],
)
def test_episode_filters(
    client: TestClient,
    ui_memory: SyncSelfLearningMemory,
    params: dict[str, str],
    expected: int | None,
) -> None:
    page = client.get("/episodes", params={**params, "per_page": 200})
    assert page.status_code == 200
    shown = links(page.text, "episodes")
    if expected is None:  # compare with the memory's own filter
        expected = len(ui_memory.list_episodes(min_reward=float(params["min_reward"])))
        assert 0 < expected < 25
    assert len(shown) == expected
    assert f"{expected} matching" in text(page.text)


def test_episode_page_shows_context_steps_reward_reflection_and_patterns(
    client: TestClient, ui_memory: SyncSelfLearningMemory, seeded: Seeded
) -> None:
    failed = ui_memory.get_episode(seeded.failed_ids[1])
    page = client.get(f"/episodes/{failed.episode_id}")
    assert page.status_code == 200
    body = text(page.text)
    assert failed.task_description in body
    for fragment in ("web-api", "python", "fastapi", ", ".join(failed.context.tags)):
        assert fragment in body
    # steps with results and errors; stored text is escaped, never markup
    assert "check if the suite passes" in body
    assert "AssertionError: expected 200, got 401 <b>bold</b>" in body
    assert "&lt;b&gt;bold&lt;/b&gt;" in page.text
    assert "<b>bold</b>" not in page.text
    assert "patched auth.py" in body
    assert "812 ms" in body
    # the reward breakdown and the reflection
    assert failed.reward is not None
    assert f"Reward {failed.reward.total:.3f}" in body
    assert f"efficiency {failed.reward.efficiency:.3f}" in body
    assert failed.reflection is not None
    for sentence in failed.reflection.improvements:
        assert sentence in body
    # the patterns learned from it link to their pages
    assert failed.pattern_ids
    assert set(links(page.text, "patterns")) == {str(i) for i in failed.pattern_ids}
    assert "delete" not in body.lower()  # read-only: no delete action offered


def test_in_flight_episode_page(client: TestClient, seeded: Seeded) -> None:
    page = client.get(f"/episodes/{seeded.in_flight_id}")
    assert page.status_code == 200
    body = text(page.text)
    assert "Refactor the settings loader" in body
    assert "in flight" in body
    assert "find the loader" in body
    assert "Patterns are learned once the episode completes." in body


@pytest.mark.parametrize("path", [f"/episodes/{uuid4()}", "/episodes/not-an-id", "/nowhere"])
def test_unknown_episode_is_404(client: TestClient, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 404
    assert "404" in text(page.text)
    assert "Back to the overview" in page.text


# --------------------------------------------------------------------- search


def test_search_is_exactly_what_an_agent_gets(
    client: TestClient, ui_memory: SyncSelfLearningMemory
) -> None:
    params = {"q": "Fix the failing logout test", "domain": "web-api", "tags": "auth", "limit": 5}
    page = client.get("/search", params=params)
    assert page.status_code == 200
    context = {"domain": "web-api", "tags": ["auth"]}
    agent = ui_memory.search_episodes("Fix the failing logout test", context, 5)
    assert agent, "the seed should hold related episodes"
    results = re.findall(
        rf'<li class="result( below)?">.*?href="/episodes/({UUID_RE})"', page.text, re.S
    )
    above = [eid for below, eid in results if not below]
    assert above == [str(r.episode.episode_id) for r in agent]
    top = agent[0]
    assert f"{top.score:.3f}" in page.text
    for name, value in top.breakdown.items():
        assert f"{name} <b>{value:+.3f}</b>" in page.text
    patterns = ui_memory.search_patterns(context, 5, task_description="Fix the failing logout test")
    assert links(page.text, "patterns") == [str(r.pattern.pattern_id) for r in patterns]
    assert f"{len(agent)} an agent would get" in text(page.text)
    below = [eid for below, eid in results if below]
    assert below, "weakly related episodes are shown too, marked"
    assert not set(below) & set(above)


def test_search_marks_results_below_the_relevance_floor(client: TestClient) -> None:
    page = client.get("/search", params={"q": "Translate the quarterly brochure into French"})
    assert page.status_code == 200
    body = text(page.text)
    assert "0 an agent would get" in body
    assert "below floor: an agent would not get this" in body
    assert 'class="result below"' in page.text
    assert 'class="result"' not in page.text.split("<h2>Patterns")[0]


def test_search_without_a_query_shows_the_form(client: TestClient) -> None:
    page = client.get("/search")
    assert page.status_code == 200
    assert 'name="q"' in page.text
    assert "Type a task description" in text(page.text)
    assert not links(page.text, "episodes")


# ------------------------------------------------------------------- patterns


def test_pattern_page_shows_support_rates_effectiveness_and_evidence(
    client: TestClient, ui_memory: SyncSelfLearningMemory
) -> None:
    listing = client.get("/patterns")
    assert listing.status_code == 200
    ids = links(listing.text, "patterns")
    assert ids
    pattern = max(
        (ui_memory.get_pattern(UUID(i)) for i in ids),
        key=lambda p: len(p.evidence),
    )
    page = client.get(f"/patterns/{pattern.pattern_id}")
    assert page.status_code == 200
    body = text(page.text)
    assert f"{pattern.sample_size} support" in body
    assert f"{pattern.success_rate:.0%} success rate" in body
    assert f"{pattern.effectiveness.effectiveness_score:.2f} effectiveness" in body
    assert "Evidence episodes" in body
    assert set(links(page.text, "episodes")) == {str(i) for i in pattern.evidence}
    linked = ui_memory.engine.store.pattern_episode_ids(ui_memory.namespace, pattern.pattern_id)
    assert f"{len(linked)} linked episodes" in body


def test_pattern_list_filters_by_kind(client: TestClient) -> None:
    page = client.get("/patterns", params={"kind": "tool_sequence"})
    assert page.status_code == 200
    kinds = set(re.findall(r'<td class="nowrap">([a-z ]+)</td>', page.text))
    assert kinds == {"tool sequence"}


@pytest.mark.parametrize("path", [f"/patterns/{uuid4()}", "/patterns/42"])
def test_unknown_pattern_is_404(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("path", "params", "fragment"),
    [
        ("/episodes", {"page": "0"}, "page=0 is out of range"),
        ("/episodes", {"page": "two"}, "page='two' is not a whole number"),
        ("/episodes", {"per_page": "5000"}, "per_page=5000 is out of range"),
        ("/episodes", {"outcome": "great"}, "outcome='great' is not one of"),
        ("/episodes", {"task_type": "cooking"}, "task_type='cooking' is not one of"),
        ("/episodes", {"since": "yesterday"}, "since='yesterday' is not a date"),
        ("/episodes", {"min_reward": "high"}, "min_reward='high' is not a number"),
        ("/episodes", {"min_reward": "nan"}, "is not a finite number"),
        ("/search", {"q": "x", "limit": "0"}, "limit=0 is out of range"),
        ("/search", {"q": "x", "patterns": "-1"}, "patterns=-1 is out of range"),
        ("/search", {"q": "x" * 10_001}, "at most 10000"),
        ("/patterns", {"kind": "recipe"}, "kind='recipe' is not one of"),
    ],
)
def test_bad_query_parameters_are_400_with_a_reason(
    client: TestClient, path: str, params: dict[str, str], fragment: str
) -> None:
    page = client.get(path, params=params)
    assert page.status_code == 400
    assert fragment in text(page.text)


# ------------------------------------------------------------- access control


def test_read_only_refuses_deletes_with_403(client: TestClient, seeded: Seeded) -> None:
    target = seeded.episode_ids[3]
    confirm = client.get(f"/episodes/{target}/delete")
    assert confirm.status_code == 403
    assert "--allow-writes" in text(confirm.text)
    post = client.post(f"/episodes/{target}/delete", data={"csrf": "x"})
    assert post.status_code == 403
    assert client.get(f"/episodes/{target}").status_code == 200


def test_every_response_carries_a_strict_content_security_policy(client: TestClient) -> None:
    for path in ("/", "/static/htmx.min.js", "/nowhere"):
        headers = client.get(path).headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"


def test_htmx_is_served_locally_with_its_licence(client: TestClient) -> None:
    page = client.get("/")
    assert '<script src="/static/htmx.min.js" defer></script>' in page.text
    assert "http://" not in page.text.replace("http://www.w3.org", "")
    assert "https://" not in page.text
    script = client.get("/static/htmx.min.js")
    assert script.status_code == 200
    assert script.text.startswith("/*! htmx 2.0.11")
    assert "Zero-Clause BSD" in script.text.splitlines()[0]


def test_host_header_check(ui_memory: SyncSelfLearningMemory) -> None:
    app = create_app(ui_memory, allowed_hosts=["127.0.0.1", "localhost"])
    with TestClient(app, base_url="http://127.0.0.1:8000") as local:
        assert local.get("/").status_code == 200
        assert local.get("/", headers={"host": "evil.example:8000"}).status_code == 400


@pytest.fixture
def writable(tmp_path: Path) -> Iterator[tuple[TestClient, Seeded, SyncSelfLearningMemory]]:
    """An app with --allow-writes and a token, on its own database."""
    seeded = seed_ui_database(f"sqlite:///{tmp_path / 'memory.db'}", count=6)
    with (
        SyncSelfLearningMemory(config_for(seeded.url), namespace=NAMESPACE) as memory,
        TestClient(create_app(memory, allow_writes=True, token="s3cret-token")) as test_client,
    ):
        yield test_client, seeded, memory


def test_token_is_required_on_every_request(
    writable: tuple[TestClient, Seeded, SyncSelfLearningMemory],
) -> None:
    client, seeded, _ = writable
    for path in ("/", "/episodes", f"/episodes/{seeded.episode_ids[0]}", "/static/style.css"):
        refused = client.get(path)
        assert refused.status_code == 401, path
        assert refused.headers["www-authenticate"] == "Bearer"
    assert client.get("/", headers={"Authorization": "Bearer wrong-token"}).status_code == 401
    assert client.get("/", params={"token": "wrong-token"}).status_code == 401
    assert client.get("/", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
    # ?token= once: a cookie, and a redirect to the same URL without the token
    first = client.get(
        "/episodes", params={"token": "s3cret-token", "per_page": 5}, follow_redirects=False
    )
    assert first.status_code == 303
    assert first.headers["location"] == "/episodes?per_page=5"
    cookie = first.headers["set-cookie"]
    assert cookie.startswith(f"{TOKEN_COOKIE}=s3cret-token")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert client.get("/episodes").status_code == 200  # the cookie now does it
    client.cookies.clear()
    assert client.get("/episodes").status_code == 401


def test_delete_with_writes_needs_the_confirmation_form(
    writable: tuple[TestClient, Seeded, SyncSelfLearningMemory],
) -> None:
    client, seeded, memory = writable
    client.headers["Authorization"] = "Bearer s3cret-token"
    target = seeded.episode_ids[2]
    detail = client.get(f"/episodes/{target}")
    assert f'href="/episodes/{target}/delete"' in detail.text
    confirm = client.get(f"/episodes/{target}/delete")
    assert confirm.status_code == 200
    assert "Delete this episode?" in text(confirm.text)
    csrf = re.search(r'name="csrf" value="([^"]+)"', confirm.text)
    assert csrf
    assert client.post(f"/episodes/{target}/delete", data={}).status_code == 403
    assert client.post(f"/episodes/{target}/delete", data={"csrf": "forged"}).status_code == 403
    assert client.get(f"/episodes/{target}").status_code == 200  # nothing deleted yet
    done = client.post(
        f"/episodes/{target}/delete", data={"csrf": csrf.group(1)}, follow_redirects=False
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/episodes?deleted={target}"
    assert f"Deleted episode {target}" in text(client.get(done.headers["location"]).text)
    assert client.get(f"/episodes/{target}").status_code == 404
    assert memory.engine.store.get_episode(NAMESPACE, target) is None
    assert client.post(f"/episodes/{uuid4()}/delete", data={"csrf": csrf.group(1)}).status_code == (
        404
    )
    assert client.get("/").status_code == 200
    assert "6 episodes" in text(client.get("/").text)  # 6 recorded + 1 in flight - 1 deleted


# ------------------------------------------------------------- optional extra


def test_a_missing_dependency_names_the_extra() -> None:
    with pytest.raises(MissingDependencyError, match=r"memory-core\[ui\]"):
        require_ui("no_such_module_for_the_ui")


def test_the_core_and_its_cli_do_not_import_the_ui_stack() -> None:
    code = (
        "import sys, memory_core, memory_core.cli.app, memory_core.ui; "
        "loaded = [m for m in ('starlette', 'jinja2', 'uvicorn') if m in sys.modules]; "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_the_overview_follows_changes_made_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("memory_core.ui.app.OVERVIEW_MIN_AGE", 0.0)
    seeded = seed_ui_database(f"sqlite:///{tmp_path / 'memory.db'}", count=3)
    config = config_for(seeded.url)
    with (
        SyncSelfLearningMemory(config, namespace=NAMESPACE) as memory,
        TestClient(create_app(memory)) as client,
    ):
        assert "4 episodes" in text(client.get("/").text)
        assert "4 episodes" in text(client.get("/").text)  # unchanged: served again
        with SyncSelfLearningMemory(config, namespace=NAMESPACE) as elsewhere:
            done = elsewhere.start_episode("Rotate the API keys")
            elsewhere.complete_episode(done, {"kind": "success", "verdict": "rotated"})
        page = client.get("/")
        assert "5 episodes" in text(page.text)
        assert str(done) in links(page.text, "episodes")


def test_a_memory_learning_in_a_process_serves_other_namespaces(tmp_path: Path) -> None:
    seeded = seed_ui_database(f"sqlite:///{tmp_path / 'memory.db'}")
    config = config_for(seeded.url)
    config.learning.mode = "process"
    with (
        SyncSelfLearningMemory(config, namespace=NAMESPACE) as memory,
        TestClient(create_app(memory)) as client,
    ):
        page = client.get("/", params={"ns": OTHER_NAMESPACE})
        assert page.status_code == 200
        assert "2 episodes" in text(page.text)
