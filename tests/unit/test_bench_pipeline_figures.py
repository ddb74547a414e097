"""The pipeline benchmark's figures (benchmarks/pipeline_figures.py): attribution of records,
calls and history events to sessions, the state machine path, concurrency and flatness."""

import json

import pytest

from benchmarks import pipeline_figures as pf

A = "0b9c1f3e-1111-4a7e-9a57-2f0c6f1d0a01"
B = "7d2e4c55-2222-4b8f-8c11-9e3a5b7c0b02"


def _sqs_record(body, sent_ms, receive_count=1, attributes=None):
    return {
        "eventSource": "aws:sqs",
        "body": body,
        "attributes": {
            "SentTimestamp": str(sent_ms),
            "ApproximateReceiveCount": str(receive_count),
        },
        "messageAttributes": attributes or {},
    }


def test_short_function_names_drop_the_stack_prefix_and_suffix():
    assert pf.short_function_name("jumio-local-AddPartFunction") == "AddPart"
    assert pf.short_function_name("Callback") == "Callback"


def test_a_session_is_found_in_encoded_keys_and_any_case():
    key = f"captures%2F{A.upper()}%2Fcred%2FFRONT.jpg"
    assert pf.find_session(json.dumps({"key": key}), [A, B]) == A
    assert pf.find_session("no id here", [A]) is None
    other = "99999999-9999-4999-8999-999999999999"
    assert pf.find_session(f"{other} then {B}", [A, B]) == B  # unknown ids are skipped


def test_sqs_records_give_one_wait_each_by_kind_and_session():
    started = 1_000.0
    event = {
        "Records": [
            _sqs_record(json.dumps({"workflowExecutionId": A}), 997_500),
            _sqs_record(json.dumps({"workflowExecutionId": B}), 990_000, receive_count=3),
            _sqs_record(
                json.dumps({"workflowExecutionId": A}),
                999_000,
                attributes={"waitAttempt": {"stringValue": "1", "dataType": "Number"}},
            ),
            _sqs_record("about nobody", 999_900),
        ]
    }
    facts = pf.invocation_facts(
        "x-AddPartFunction", started, 4000, 1000, False, False, event, [A, B]
    )
    assert facts.function == "AddPart"
    assert facts.sessions == (A, B, A, None)
    assert [(w.session, w.kind) for w in facts.queue_waits] == [
        (A, pf.FIRST),
        (B, pf.RETRY),
        (A, pf.REQUEUED),
        (None, pf.FIRST),
    ]
    assert [w.seconds for w in facts.queue_waits] == pytest.approx([2.5, 10.0, 1.0, 0.1])
    assert facts.run == pytest.approx(3.0)  # duration less the wait for a worker


def test_a_task_event_belongs_to_the_session_it_names_and_has_no_queue_wait():
    facts = pf.invocation_facts(
        "x-FinalizeFunction", 5.0, 200, 0, True, False, {"workflowExecutionId": B}, [A, B]
    )
    assert facts.sessions == (B,)
    assert facts.queue_waits == ()
    assert facts.cold_start


def test_a_jumio_path_names_its_workflow_execution():
    path = f"/api/v1/accounts/acc/workflow-executions/{A.upper()}/credentials/c/parts/FRONT"
    assert pf.session_of_path(path) == A
    assert pf.session_of_path("/oauth2/token") is None


def _history(*items):
    return [pf.HistoryEvent(kind, at, state) for kind, at, state in items]


def test_the_path_adds_up_to_registration_to_verdict():
    events = _history(
        ("ExecutionStarted", 101.0, None),
        ("TaskStateEntered", 101.5, "WaitForAllParts"),
        ("TaskStateExited", 110.0, "WaitForAllParts"),
        ("TaskStateEntered", 110.2, "Finalize"),
        ("TaskStateExited", 111.0, "Finalize"),
        ("TaskStateEntered", 111.5, "WaitForVerdict"),
        ("TaskTimedOut", 115.6, None),
        ("TaskStateExited", 115.6, "WaitForVerdict"),
        ("TaskStateEntered", 115.7, "PollVerdict"),
        ("TaskStateExited", 116.0, "PollVerdict"),
        ("TaskStateEntered", 116.1, "PollVerdict"),  # a second round: summed
        ("TaskStateExited", 116.3, "PollVerdict"),
        ("TaskStateEntered", 116.4, "RecordDecision"),
        ("TaskStateExited", 117.0, "RecordDecision"),
        ("SucceedStateEntered", 117.1, "Passed"),  # after the verdict: not on the path
    )
    path = pf.session_path(A, 100.0, events)
    assert (path.finalized_at, path.decided_at) == (111.5, 117.0)
    assert path.verdict_by_timer
    assert path.states["(start)"] == pytest.approx(1.0)
    assert path.states["WaitForAllParts"] == pytest.approx(8.5)
    assert path.states["PollVerdict"] == pytest.approx(0.5)
    assert sum(path.states.values()) == pytest.approx(117.0 - 100.0)
    assert all(seconds >= 0 for seconds in path.states.values())


def test_a_path_without_a_verdict_ends_at_its_last_event_and_counts_the_open_state():
    events = _history(
        ("ExecutionStarted", 10.0, None),
        ("TaskStateEntered", 10.0, "WaitForAllParts"),
        ("TaskSubmitted", 14.0, None),
    )
    path = pf.session_path(B, 10.0, events)
    assert (path.decided_at, path.finalized_at) == (None, None)
    assert not path.verdict_by_timer
    assert path.states["WaitForAllParts"] == pytest.approx(4.0)


def test_peak_concurrency_counts_overlaps_only():
    assert pf.peak_concurrency([]) == 0
    assert pf.peak_concurrency([(0, 1), (1, 2), (2, 3)]) == 1  # back to back
    assert pf.peak_concurrency([(0, 10), (1, 2), (1.5, 3), (5, 6)]) == 3


def _facts(function, started, duration, sessions, wait=0.0, waits=()):
    return pf.InvocationFacts(function, started, duration, wait, False, False, sessions, waits)


def test_a_batch_shares_its_time_among_its_records_and_work_sums_per_session():
    invocations = [
        _facts(
            "AddPart",
            0.0,
            4.0,
            (A, A, A, B),
            wait=2.0,
            waits=(pf.QueueWait(A, 1.0, pf.FIRST), pf.QueueWait(B, 3.0, pf.RETRY)),
        ),
        _facts("Finalize", 5.0, 1.0, (B,)),
        _facts("AddPart", 6.0, 1.0, (None,)),  # nobody's: counted for nobody
    ]
    calls = [
        pf.JumioCall(A, "add_part", 200, None, 1.0, 0.25),
        pf.JumioCall(None, None, 200, None, 2.0, 9.0),
    ]
    work = pf.session_work([A, B], invocations, calls)
    assert work[A].lambda_run == {"AddPart": pytest.approx(1.5)}
    assert work[B].lambda_run == {"AddPart": pytest.approx(0.5), "Finalize": pytest.approx(1.0)}
    assert work[A].worker_wait + work[B].worker_wait == pytest.approx(2.0)
    assert (work[A].queue, work[B].queue) == ({pf.FIRST: 1.0}, {pf.RETRY: 3.0})
    assert (work[A].jumio, work[A].jumio_calls, work[B].jumio_calls) == (0.25, 1, 0)


def _path(session, registered, finalized, decided):
    return pf.SessionPath(session, registered, finalized, decided, {"WaitForAllParts": 1.0}, False)


def test_run_figures_rate_and_percentiles():
    paths = [_path(A, 0.0, 10.0, 12.0), _path(B, 5.0, 20.0, 35.0)]
    run = pf.run_figures(2, True, paths, [], [])
    assert (run.decided, run.span) == (2, 35.0)
    assert run.per_minute == pytest.approx(2 * 60 / 35)
    assert run.to_verdict.p50 <= run.to_verdict.p90 <= run.to_verdict.p99
    assert (run.to_verdict.p50, run.to_verdict.p99) == (12.0, 30.0)
    assert run.to_finalize.count == 2


def test_an_undecided_session_counts_in_latency_to_finalize_only():
    paths = [_path(A, 0.0, 10.0, 12.0), _path(B, 0.0, 15.0, None)]
    run = pf.run_figures(2, False, paths, [], [])
    assert (run.decided, run.to_finalize.count, run.to_verdict.count) == (1, 2, 1)


def _run(sessions, faults, verdict_p50):
    latencies = pf.Latencies(sessions, verdict_p50, verdict_p50, verdict_p50)
    return pf.RunFigures(sessions, faults, sessions, 60.0, 1.0, latencies, latencies, {}, 0, {}, [])


def test_flatness_compares_each_n_with_the_smallest_of_the_same_setting():
    runs = [
        _run(50, False, 23.0),
        _run(10, False, 20.0),
        _run(10, True, 30.0),
        _run(100, True, 40.0),
    ]
    found = {f.faults: f for f in pf.flatness(runs)}
    assert found[False].base_sessions == 10
    assert found[False].ratios == {50: pytest.approx(1.15)}
    assert found[False].flat
    assert found[True].ratios == {100: pytest.approx(40 / 30)}
    assert not found[True].flat
    assert pf.flatness([_run(10, False, 20.0)]) == []  # one run: nothing to compare


def test_wall_time_per_decided_session_is_compared_beside_the_latency():
    quick = pf.RunFigures(
        10, False, 10, 7.3, 82.0, *([pf.Latencies(10, 4.0, 5.0, 6.0)] * 2), {}, 0, {}, []
    )
    burst = pf.RunFigures(
        100, False, 100, 90.7, 66.0, *([pf.Latencies(100, 55.0, 74.0, 86.0)] * 2), {}, 0, {}, []
    )
    undecided = pf.RunFigures(
        50, False, 0, None, None, *([pf.Latencies(0, None, None, None)] * 2), {}, 0, {}, []
    )

    [found] = pf.flatness([burst, quick, undecided])

    assert found.ratios == {100: pytest.approx(55.0 / 4.0)}
    assert not found.flat  # a burst queues in front of the concurrency cap
    assert found.wall_ratios == {100: pytest.approx((90.7 / 100) / (7.3 / 10))}
    assert not found.flat_per_session  # x1.24
    lines = pf.flatness_lines([found])
    assert "wall time per decided session against N=10: N=100: x1.24" in lines[1]


def test_requests_to_the_local_cloud_are_named_by_service_and_action():
    assert pf.aws_action("POST", "/", "DynamoDB_20120810.PutItem") == "dynamodb.PutItem"
    assert pf.aws_action("POST", "/", "AmazonSQS.ReceiveMessage") == "sqs.ReceiveMessage"
    invoke = "/2015-03-31/functions/jumio-local-AddPartFunction/invocations"
    assert pf.aws_action("POST", invoke, None) == "lambda.Invoke"
    assert pf.aws_action("GET", "/bucket/captures/a.jpg", None) == "s3.GET"
    assert pf.aws_action("POST", "/", None, "Action=SendMessage&x=1") == "query.SendMessage"


def test_aws_loads_count_per_session_and_put_the_costliest_first():
    calls = [
        pf.AwsCall("dynamodb.PutItem", 0.1),
        pf.AwsCall("dynamodb.PutItem", 0.3),
        pf.AwsCall("s3.GET", 0.05),
        pf.AwsCall("lambda.Invoke", 9.0),
    ]
    loads = pf.aws_loads(calls, sessions=2)
    put = next(load for load in loads if load.action == "dynamodb.PutItem")
    assert (put.count, put.per_session, put.total, put.p50) == (2, 1.0, pytest.approx(0.4), 0.2)
    assert [load.total for load in loads] == sorted((load.total for load in loads), reverse=True)
    table = pf.aws_table(loads, wall=10.0)
    assert "lambda.Invoke (waits, not work)" in table
    assert "(0.04 requests at once" in table  # 0.45 s of work in 10 s: the waits do not count


def _load(function, mean):
    return pf.FunctionLoad(function, 10, 0, 0, 5, mean, 0.0, 1.0)


def test_the_bottleneck_is_the_stage_nearest_its_cap_and_its_cap_bounds_the_rate():
    latencies = pf.Latencies(1, 1.0, 1.0, 1.0)
    run = pf.RunFigures(
        50,
        False,
        50,
        60.0,
        50.0,
        latencies,
        latencies,
        {},
        0,
        {"Lambda AddPart": 5.0, "Lambda Finalize": 0.4},
        [_load("AddPart", 4.5), _load("Finalize", 3.0), _load("Unknown", 9.0)],
    )
    found = pf.bottleneck(run, {"AddPart": 5, "Finalize": 4})
    assert found.function == "AddPart"  # 90% of its cap against 75%; no cap, no candidate
    assert found.utilisation == pytest.approx(0.9)
    assert found.ceiling_per_minute == pytest.approx(5 * 60 / 5.0)
    assert "AddPart" in pf.bottleneck_line(found, run)
    assert pf.bottleneck(run, {}) is None
