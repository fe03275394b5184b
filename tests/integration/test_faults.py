"""Issue 5: the provider survives faults on every lifecycle step, or fails so a rerun converges.

The main table crosses every step (the version GET, create, read, update, the dry-run DELETE and
the DELETE) with every fault the emulator can inject, once or until cleared. Each row has an
outcome class:

- HEALS: the step succeeds after retries and Elasticsearch holds what it should;
- ADOPTS: a create whose response was lost succeeds by adopting what the lost attempt made;
- FAILS: the step fails cleanly (the message names the endpoint, the request, the status or the
  transport failure, never a secret) and Elasticsearch is untouched;
- FAILS_BUT_DONE: the step fails cleanly although the request took effect before its response
  was lost; for a create the message must say how ``adopt: true`` takes it over.

After every row, the next Pulumi command (a rerun of the same step) converges: a diff against the
declaration is DIFF_NONE, or, for a delete, the endpoint is gone and deleting again is a no-op.

Rows share two module-wide hosts: ``steady`` (retries for up to 3 s: one-off faults heal) and
``impatient`` (gives up after 0.2 s: faults until cleared win). Each row gets a fresh lab on a
port no host has seen, so each step starts with a new session (no cached version or list), as in
a new provider process; ids differ per row as well.
"""

from __future__ import annotations

import enum
import fnmatch
import hashlib
import re
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime.proto import provider_pb2

from emulators import HuggingFaceServer, serve
from emulators.lab import HF_KEY, HF_KEY_ROTATED
from harness.provider_host import HostError, ProviderHost
from tests.integration.helpers import (
    REVOKED_KEY,
    SECRETS,
    TALLIES,
    FaultTally,
    Hosts,
    RecordingLab,
    embedding,
    embedding_outputs,
    public,
    recording_lab,
    rerank,
    rerank_outputs,
)

DIFF_NONE = provider_pb2.DiffResponse.DIFF_NONE
RAISED = "Exception calling application: "
# The table's hosts time out after 0.5 s, so the client gives up on a delayed attempt; ``steady``
# retries for up to 3 s, ``impatient`` stops after 0.2 s.
DELAY = 1.0
STEADY = {"ES_INFERENCE_TIMEOUT": "0.5", "ES_INFERENCE_RETRY_DEADLINE": "3"}
IMPATIENT = {**STEADY, "ES_INFERENCE_RETRY_DEADLINE": "0.2"}
TALLY = TALLIES.setdefault("tests/integration/test_faults.py", FaultTally())


class Outcome(enum.Enum):
    HEALS = "heals"
    ADOPTS = "heals by adopting what the lost attempt created"
    FAILS = "fails cleanly and changes nothing"
    FAILS_BUT_DONE = "fails cleanly although Elasticsearch acted"


@dataclass(frozen=True)
class Step:
    """A lifecycle step and the requests its fault targets (``{id}`` is the row's endpoint)."""

    name: str
    method: str
    path: str
    after: int = 0


STEPS = [
    Step("the version GET", "GET", "/"),
    Step("create", "PUT", "/_inference/text_embedding/{id}"),
    # The shared list call, then the by-id GET it may fall back to.
    Step("read", "GET", "/_inference/*"),
    Step("update", "PUT", "/_inference/rerank/{id}/_update"),
    Step("the dry-run DELETE", "DELETE", "/_inference/text_embedding/{id}"),
    Step("the DELETE", "DELETE", "/_inference/text_embedding/{id}", after=1),
]
FAULTS: dict[str, dict[str, Any]] = {
    "a 429 with Retry-After": {"action": "status", "status": 429, "retry_after": "1"},
    "a 502": {"action": "status", "status": 502},
    "a 503": {"action": "status", "status": 503},
    "a 504": {"action": "status", "status": 504},
    "a delay past the client timeout": {"action": "delay", "seconds": DELAY},
    "a dropped connection": {"action": "drop"},
    "a commit then a dropped connection": {"action": "commit_then_drop"},
}
# What each step does when a fault never clears; faulted once, every step heals (a create whose
# response was lost by adopting). Where Elasticsearch acts (_D), it is on a request whose response
# never came: a delayed one lands after the client gave up (for create, after the provider's
# check GET found nothing), and commit_then_drop acts before dropping. A create retried into the
# endpoint its lost first attempt made adopts it: the fault matches the endpoint's exact path, so
# the adoption's _update passes.
_F, _D = Outcome.FAILS, Outcome.FAILS_BUT_DONE
UNTIL_CLEARED: dict[str, list[Outcome]] = {
    # 429, 502, 503, 504, delay, drop, commit_then_drop
    "the version GET": [_F, _F, _F, _F, _F, _F, _F],
    # On 9.1 adoption re-creates (its _update would reset the chunking, #139574), and that PUT
    # meets the same fault: committed, answer lost.
    "create": [_F, _F, _F, _F, _D, _F, _D],
    "read": [_F, _F, _F, _F, _F, _F, _F],
    "update": [_F, _F, _F, _F, _D, _F, _D],
    "the dry-run DELETE": [_F, _F, _F, _F, _F, _F, _F],
    "the DELETE": [_F, _F, _F, _F, _D, _F, _D],
}


@dataclass(frozen=True)
class Row:
    step: Step
    fault: str
    once: bool
    outcome: Outcome

    @property
    def inference_id(self) -> str:
        words = f"{self.step.name} {self.fault} {'once' if self.once else 'always'}"
        return re.sub(r"[^a-z0-9]+", "-", words.lower()).strip("-")

    def spec(self) -> dict[str, Any]:
        path = self.step.path.format(id=self.inference_id)
        times = 1 if self.once else -1
        extra = {"after": self.step.after} if self.step.after else {}
        return {"method": self.step.method, "path": path, "times": times, **extra}


def _rows() -> list[Row]:
    rows = []
    for step in STEPS:
        for index, fault in enumerate(FAULTS):
            adopted = step.name == "create" and fault.startswith("a commit")
            rows.append(Row(step, fault, True, Outcome.ADOPTS if adopted else Outcome.HEALS))
            rows.append(Row(step, fault, False, UNTIL_CLEARED[step.name][index]))
    return rows


ROWS = _rows()


def _row_id(row: Row) -> str:
    when = "once" if row.once else "until cleared"
    return f"{row.step.name} hit by {row.fault} {when} {row.outcome.value}"


# --- module-wide hosts and per-row labs ---------------------------------------------------------


@pytest.fixture(scope="module")
def module_hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ProviderHost]]:
    project: Path = tmp_path_factory.mktemp("project")
    (project / "stacks").mkdir()
    started = Hosts(project)
    yield {"steady": started.start(**STEADY), "impatient": started.start(**IMPATIENT)}
    stderr = started.close_all()
    leaked = [secret for secret in SECRETS if secret in stderr]
    TALLY.leaked += len(leaked)
    assert not leaked, "a test api key appeared in a provider host's stderr"


@pytest.fixture(scope="module")
def shared_hf_url() -> Iterator[str]:
    """One Hugging Face server for the table's rows (they fault Elasticsearch only)."""
    with serve(HuggingFaceServer(api_keys=[HF_KEY, HF_KEY_ROTATED])) as server:
        yield server.url


class _Closer:
    """Stops labs in the background: a server takes 50 ms to stop, and rows need not wait."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self.pool = pool
        self.closing: list[Future[None]] = []

    def close_later(self, stack: ExitStack) -> None:
        self.closing.append(self.pool.submit(stack.close))


@pytest.fixture(scope="module")
def closer() -> Iterator[_Closer]:
    with ThreadPoolExecutor(max_workers=1) as pool:
        later = _Closer(pool)
        yield later
    for future in later.closing:
        future.result()


_SEEN_URLS: set[str] = set()


@pytest.fixture
def fresh_lab(shared_hf_url: str, closer: _Closer) -> Iterator[RecordingLab]:
    """A lab on a port the module's hosts never talked to (so their sessions start afresh)."""
    stack = ExitStack()
    try:
        lab = stack.enter_context(recording_lab(hf_url=shared_hf_url))
        while lab.es_url in _SEEN_URLS:
            lab = stack.enter_context(recording_lab(hf_url=shared_hf_url))
        _SEEN_URLS.add(lab.es_url)
        yield lab
    finally:
        closer.close_later(stack)


# --- what each step does, and how to check it -----------------------------------------------------


def declared(row: Row, lab: RecordingLab, **task: Any) -> dict[str, Any]:
    if row.step.name == "update":
        return rerank(lab, row.inference_id, task_settings={"return_documents": True, **task})
    return embedding(lab, row.inference_id)


def prepare(row: Row, lab: RecordingLab, steady: ProviderHost) -> dict[str, Any] | None:
    """The recorded outputs of the endpoint the step works on (None when the step creates it)."""
    if row.step.name in ("the version GET", "create"):
        return None
    _, outs = steady.create(declared(row, lab, top_n=3))
    return outs


def run_step(row: Row, host: ProviderHost, lab: RecordingLab, outs: dict[str, Any] | None) -> Any:
    inference_id = row.inference_id
    if outs is None:
        return host.create(declared(row, lab))
    if row.step.name == "read":
        return host.read(inference_id, outs)
    if row.step.name == "update":
        return host.update(inference_id, outs, declared(row, lab, top_n=5))
    return host.delete(inference_id, outs)


def check_done(row: Row, lab: RecordingLab, outs: dict[str, Any] | None, result: Any) -> None:
    """The step's effect is in Elasticsearch (and in the outputs, for those that return any)."""
    inference_id = row.inference_id
    if outs is None:
        new_id, new_outs = result
        assert new_id == inference_id
        assert public(new_outs) == embedding_outputs(lab, inference_id)
        assert lab.user_endpoint_ids() == [inference_id]
        stored = lab.stored(inference_id)
        assert stored is not None
        assert (
            stored["service_settings"]["api_key_sha256"]
            == hashlib.sha256(HF_KEY.encode()).hexdigest()
        )
    elif row.step.name == "read":
        assert (result[0], public(result[1])) == (inference_id, public(outs))
    elif row.step.name == "update":
        assert public(result) == rerank_outputs(lab, inference_id, top_n=5)
        assert _top_n(lab, inference_id) == 5
    else:
        assert lab.endpoint(inference_id) is None


def check_untouched(row: Row, lab: RecordingLab, outs: dict[str, Any] | None) -> None:
    inference_id = row.inference_id
    if outs is None:
        assert lab.user_endpoint_ids() == []
    elif row.step.name == "update":
        assert _top_n(lab, inference_id) == 3
    else:
        assert lab.endpoint(inference_id) is not None


def _top_n(lab: RecordingLab, inference_id: str) -> int:
    live = lab.endpoint(inference_id)
    assert live is not None
    return int(live["task_settings"]["top_n"])


_REQUEST = re.compile(r"\b(GET|PUT|DELETE) (/\S*)")


def unclear(row: Row, message: str) -> list[str]:
    """What a clean failure message lacks: the endpoint, the request, the status or the cause."""
    fault = FAULTS[row.fault]
    missing = []
    if row.inference_id not in message:
        missing.append(f"the endpoint id {row.inference_id!r}")
    requests = _REQUEST.findall(message)
    glob = row.step.path.format(id=row.inference_id)
    if not any(m == row.step.method and fnmatch.fnmatchcase(p, glob) for m, p in requests):
        missing.append(f"the request ({row.step.method} {glob})")
    if fault["action"] == "status" and f"failed: {fault['status']} " not in message:
        missing.append(f"the status {fault['status']}")
    if fault.get("status") == 429 and "es_rejected_execution_exception" not in message:
        missing.append("Elasticsearch's error type")
    if fault["action"] != "status" and "no response from" not in message:
        missing.append("that no response came")
    return missing


def check_acted(row: Row, lab: RecordingLab, message: str) -> None:
    """A failed step whose request still took effect; a create must say how to adopt it."""
    inference_id = row.inference_id
    if row.step.name == "create":
        assert lab.user_endpoint_ids() == [inference_id]
        assert "set `adopt: true` on it to take it over" in message
    elif row.step.name == "update":
        assert _top_n(lab, inference_id) == 5
    else:
        assert lab.endpoint(inference_id) is None


def settle(lab: RecordingLab) -> None:
    """Wait until every request has been answered: a delayed one still acts after the client left."""
    deadline = time.monotonic() + 10
    while any(r["status"] is None for r in lab.requests()):
        assert time.monotonic() < deadline, "a delayed request never finished"
        time.sleep(0.05)


def rerun(
    row: Row, lab: RecordingLab, steady: ProviderHost, outs: Any, result: Any, failed: bool
) -> None:
    """The next Pulumi command converges: nothing left to change, or the endpoint is gone."""
    inference_id = row.inference_id
    news = declared(row, lab, top_n=5)
    if row.step.name in ("the dry-run DELETE", "the DELETE"):
        if failed:
            steady.delete(inference_id, outs)
        assert lab.endpoint(inference_id) is None
        lab.clear_log()
        steady.delete(inference_id, outs)
        assert lab.calls() == [f"DELETE /_inference/text_embedding/{inference_id}?dry_run=true"]
        return
    if row.step.name in ("the version GET", "create"):
        if failed and inference_id in lab.user_endpoint_ids():
            # What the failed create left is found, and taken over only on request (issue 14).
            with pytest.raises(HostError, match="set `adopt: true` on"):
                steady.create(news)
            news = {**news, "adopt": True}
        _, outs = steady.create(news) if failed else result
    elif row.step.name == "read":
        _, outs = steady.read(inference_id, outs) if failed else result
    else:
        outs = steady.update(inference_id, outs, news) if failed else result
    diff = steady.diff(inference_id, outs, news)
    assert (diff.changes, list(diff.replaces)) == (DIFF_NONE, [])
    assert inference_id in lab.user_endpoint_ids()


@pytest.mark.parametrize("row", ROWS, ids=_row_id)
def test_every_step_heals_or_fails_cleanly_under_every_fault(
    row: Row, fresh_lab: RecordingLab, module_hosts: dict[str, ProviderHost]
) -> None:
    lab, steady = fresh_lab, module_hosts["steady"]
    outs = prepare(row, lab, steady)
    lab.clear_log()
    lab.fault(**FAULTS[row.fault], **row.spec())
    TALLY.injected += 1
    host = steady if row.once else module_hosts["impatient"]
    try:
        result, message = run_step(row, host, lab, outs), None
    except HostError as error:
        result, message = None, error.details
    lab.clear_faults()
    if FAULTS[row.fault]["action"] == "delay":
        settle(lab)

    problems: list[str] = []
    if row.outcome in (Outcome.HEALS, Outcome.ADOPTS):
        assert message is None, f"expected the step to heal, got: {message}"
        check_done(row, lab, outs, result)
        if row.outcome is Outcome.ADOPTS:
            # On 9.1 adoption writes the stack's key by re-creating the endpoint, since an
            # _update would reset its chunking (elastic/elasticsearch#139574).
            assert f"DELETE /_inference/text_embedding/{row.inference_id}" in lab.calls()
    else:
        assert message is not None, "expected the step to fail"
        problems = unclear(row, message)
        TALLY.unclear += bool(problems)
        leaked = [secret for secret in SECRETS if secret in message]
        TALLY.leaked += len(leaked)
        assert not leaked, "the message shows a secret"
        if row.outcome is Outcome.FAILS:
            check_untouched(row, lab, outs)
        else:
            check_acted(row, lab, message)
    rerun(row, lab, steady, outs, result, failed=message is not None)
    TALLY.converged += 1
    assert not problems, f"the message lacks {', '.join(problems)}: {message}"


# --- faults behind Elasticsearch, user errors, and rate limiting --------------------------------

CREATE_FAILED = (
    f"{RAISED}PUT /_inference/text_embedding/emb failed: 400 status_exception: Could not complete "
    "inference endpoint creation as validation call to service threw an exception.; caused by "
    "status_exception: "
)
BAD_KEY = (
    "Received an authentication error status code for request from inference entity id [emb] "
    "status [401]. Error message: [Invalid credentials in Authorization header]"
)


def raised(call: Any) -> str:
    with pytest.raises(HostError) as caught:
        call()
    message = caught.value.details
    leaked = [secret for secret in SECRETS if secret in message]
    TALLY.leaked += len(leaked)
    assert not leaked, "the message shows a secret"
    return message


def hf_posts(lab: RecordingLab, path: str) -> int:
    """How many validation calls Elasticsearch made to the Hugging Face server."""
    logged = lab.hf.get("/_emulator/requests").json()["requests"]
    return sum(1 for r in logged if (r["method"], r["path"]) == ("POST", path))


def converges(host: ProviderHost, inputs: dict[str, Any], outs: dict[str, Any]) -> None:
    diff = host.diff(str(inputs["inference_id"]), outs, inputs)
    assert (diff.changes, list(diff.replaces)) == (DIFF_NONE, [])
    TALLY.converged += 1


def test_a_key_hugging_face_refuses_fails_create_with_its_cause_in_full_and_no_retry(
    lab: RecordingLab, hosts: Hosts
) -> None:
    host = hosts.start()
    declared = embedding(lab)
    lab.hf_fault(method="POST", path="/embed", action="status", status=401)
    TALLY.injected += 1
    assert raised(lambda: host.create(declared)) == CREATE_FAILED + BAD_KEY
    # The user's fault: one PUT, never retried, and nothing left behind.
    assert lab.calls() == ["GET /", "PUT /_inference/text_embedding/emb"]
    assert lab.user_endpoint_ids() == []
    _, outs = hosts.start().create(declared)
    converges(host, declared, outs)


@pytest.mark.parametrize(
    ("status", "calls"),
    [(503, 1), (429, 1), (503, 5), (429, 5)],
    ids=[
        "a 503 from Hugging Face once is retried by Elasticsearch and create succeeds",
        "a 429 from Hugging Face once is retried by Elasticsearch and create succeeds",
        "a 503 past Elasticsearch's three attempts: the provider sends the PUT again",
        "a 429 past Elasticsearch's three attempts: the provider sends the PUT again",
    ],
)
def test_hugging_face_overload_during_the_validation_call_heals_within_the_deadline(
    lab: RecordingLab, hosts: Hosts, status: int, calls: int
) -> None:
    host = hosts.start()
    declared = embedding(lab)
    lab.hf_fault(
        method="POST", path="/embed", action="status", status=status, retry_after="1", times=calls
    )
    TALLY.injected += 1
    _, outs = host.create(declared)
    assert public(outs) == embedding_outputs(lab)
    # Elasticsearch makes three attempts per PUT; a PUT that failed them all stored nothing, so
    # the provider sent it again (BaseResponseHandler.RATE_LIMIT, behaviour/elasticsearch.yaml).
    assert hf_posts(lab, "/embed") == calls + 1
    puts = lab.calls().count("PUT /_inference/text_embedding/emb")
    assert puts == 1 + calls // 3
    converges(host, declared, outs)


@pytest.mark.parametrize(
    ("status", "cause"),
    [
        (
            503,
            "Received a rate limit status code for request from inference entity id [emb] "
            "status [503]",
        ),
        (
            429,
            "Received a rate limit status code for request from inference entity id [emb] "
            "status [429]. Error message: [injected fault (429)]",
        ),
    ],
    ids=["a 503 that persists", "a 429 that persists"],
)
def test_hugging_face_overload_past_the_deadline_fails_create_with_the_cause_and_what_to_do(
    lab: RecordingLab, hosts: Hosts, status: int, cause: str
) -> None:
    host = hosts.start(ES_INFERENCE_RETRY_DEADLINE="0.3")
    declared = embedding(lab)
    lab.hf_fault(
        method="POST", path="/embed", action="status", status=status, retry_after="1", times=-1
    )
    TALLY.injected += 1
    message = raised(lambda: host.create(declared))
    assert message.startswith(CREATE_FAILED + cause + " (gave up after ")
    assert "busy or still starting, so nothing was stored" in message
    assert "retry.deadline" in message and "ES_INFERENCE_RETRY_DEADLINE" in message
    puts = lab.calls().count("PUT /_inference/text_embedding/emb")
    assert puts >= 2, "the provider sent the PUT again"
    assert f"gave up after {puts} attempts" in message
    # Each PUT cost Elasticsearch three attempts at the service, and none stored anything.
    assert hf_posts(lab, "/embed") == 3 * puts
    assert lab.user_endpoint_ids() == []
    lab.clear_faults()
    _, outs = hosts.start().create(declared)
    converges(host, declared, outs)


def test_a_replacement_whose_new_key_is_refused_says_the_old_endpoint_is_gone(
    lab: RecordingLab, hosts: Hosts
) -> None:
    host = hosts.start()
    path = "/_inference/text_embedding/emb"
    _, outs = host.create(embedding(lab))
    revoked = embedding(lab, api_key=REVOKED_KEY)
    diff = host.diff("emb", outs, revoked)
    assert (list(diff.replaces), diff.deleteBeforeReplace) == (["service_settings.api_key"], True)
    lab.clear_log()
    TALLY.injected += 1
    host.delete("emb", outs)
    assert raised(lambda: host.create(revoked)) == (
        CREATE_FAILED + BAD_KEY + ". The replacement already deleted the previous endpoint "
        "'emb', so Elasticsearch has none now; fix the cause and run pulumi up to create it"
    )
    assert lab.calls() == [f"DELETE {path}?dry_run=true", f"DELETE {path}", f"PUT {path}"]
    assert lab.user_endpoint_ids() == []
    # The user fixes the key and runs pulumi up again.
    fixed = embedding(lab, api_key=HF_KEY_ROTATED)
    next_up = hosts.start()
    _, outs = next_up.create(fixed)
    assert public(outs)["service_settings"]["api_key"] == HF_KEY_ROTATED
    converges(next_up, fixed, outs)


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (400, "400 illegal_argument_exception: injected fault"),
        (
            401,
            "401 security_exception: missing authentication credentials for REST request. "
            "Elasticsearch requires credentials and none is configured (es-inference:apiKey, "
            "elasticsearch.api_key in the stack file, or ELASTICSEARCH_API_KEY)",
        ),
        (403, "403 security_exception: action is unauthorized"),
    ],
    ids=[
        "a 400 from Elasticsearch is sent once",
        "a 401 from Elasticsearch is sent once",
        "a 403 from Elasticsearch is sent once",
    ],
)
def test_a_client_error_is_never_retried(
    lab: RecordingLab, hosts: Hosts, status: int, message: str
) -> None:
    host = hosts.start()
    path = "/_inference/text_embedding/emb"
    declared = embedding(lab)
    lab.fault(method="PUT", path=path, action="status", status=status)
    TALLY.injected += 1
    assert raised(lambda: host.create(declared)) == f"{RAISED}PUT {path} failed: {message}"
    assert lab.calls() == ["GET /", f"PUT {path}"]
    assert lab.user_endpoint_ids() == []
    _, outs = host.create(declared)
    converges(host, declared, outs)


def test_an_update_of_an_endpoint_deleted_out_of_band_fails_once_and_refresh_recovers(
    lab: RecordingLab, hosts: Hosts
) -> None:
    host = hosts.start()
    path = "/_inference/rerank/rr"
    _, outs = host.create(rerank(lab, task_settings={"top_n": 3}))
    lab.delete_out_of_band("rr")
    lab.clear_log()
    TALLY.injected += 1
    top_5 = rerank(lab, task_settings={"top_n": 5})
    assert raised(lambda: host.update("rr", outs, top_5)) == (
        f"{RAISED}PUT {path}/_update failed: 404 resource_not_found_exception: The inference "
        "endpoint [rr] does not exist and cannot be updated"
    )
    assert lab.calls() == [f"PUT {path}/_update"]
    # pulumi refresh drops it from the state; pulumi up creates it again.
    refresher = hosts.start()
    assert refresher.read("rr", outs)[0] == ""
    _, outs = refresher.create(top_5)
    converges(refresher, top_5, outs)


def test_thirty_creates_from_four_workers_all_succeed_under_a_rate_limit(
    lab: RecordingLab, hosts: Hosts
) -> None:
    # The engine calls a provider from four threads; each 429 carries Retry-After.
    host = hosts.start(ES_INFERENCE_RETRY_DEADLINE="30")
    ids = [f"emb-{n:02d}" for n in range(30)]
    # One token at a time, so the four workers collide whatever the speed of this machine.
    lab.rate_limit(requests_per_second=10, burst=1)
    TALLY.injected += 1
    with ThreadPoolExecutor(max_workers=4) as pool:
        created = list(pool.map(lambda i: host.create(embedding(lab, i)), ids))
    lab.clear_faults()
    assert [new_id for new_id, _ in created] == ids
    assert [public(outs) for _, outs in created] == [embedding_outputs(lab, i) for i in ids]
    assert lab.user_endpoint_ids() == ids
    answered = [(r["method"], r["status"]) for r in lab.requests()]
    assert answered.count(("PUT", 200)) == 30
    assert answered.count(("PUT", 429)) > 0, "the rate limit never engaged"
    for (_, outs), inference_id in zip(created, ids, strict=True):
        diff = host.diff(inference_id, outs, embedding(lab, inference_id))
        assert diff.changes == DIFF_NONE
    TALLY.converged += 1
