"""songhub.coalesce: a lone item goes at once in its caller's task; items that arrive while a
call runs go together in the next, each caller getting its own result or the call's error."""

import asyncio

import pytest

from songhub.coalesce import Coalescer

pytestmark = pytest.mark.asyncio


class Recorder:
    """`run` for a Coalescer: records each call's items, answers item * 10 after a pause."""

    def __init__(self, fail_on=None):
        self.calls, self.fail_on = [], fail_on
        self.release = asyncio.Event()
        self.release.set()

    async def run(self, items):
        self.calls.append(list(items))
        await self.release.wait()
        if self.fail_on in items:
            raise OSError(f"round trip with {self.fail_on} failed")
        return [item * 10 for item in items]


async def test_a_lone_item_runs_in_its_callers_task_without_a_drain_task():
    recorder = Recorder()
    coalescer = Coalescer(recorder.run)
    assert await coalescer.submit(1) == 10
    assert await coalescer.submit(2) == 20
    assert recorder.calls == [[1], [2]]
    assert coalescer.draining is None and not coalescer.busy


async def test_items_that_arrive_during_a_call_go_together_in_the_next():
    recorder = Recorder()
    coalescer = Coalescer(recorder.run)
    recorder.release.clear()
    first = asyncio.ensure_future(coalescer.submit(1))
    await asyncio.sleep(0)  # the first call is in flight
    rest = [asyncio.ensure_future(coalescer.submit(n)) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    recorder.release.set()
    assert await first == 10
    assert await asyncio.gather(*rest) == [20, 30, 40]
    assert recorder.calls == [[1], [2, 3, 4]]
    assert coalescer.calls == 2
    await coalescer.draining
    assert not coalescer.busy


async def test_a_failed_call_raises_in_every_caller_it_carried_and_the_next_call_runs():
    recorder = Recorder(fail_on=3)
    coalescer = Coalescer(recorder.run)
    recorder.release.clear()
    first = asyncio.ensure_future(coalescer.submit(1))
    await asyncio.sleep(0)
    failing = [asyncio.ensure_future(coalescer.submit(n)) for n in (2, 3)]
    await asyncio.sleep(0)
    recorder.release.set()
    assert await first == 10
    for future in failing:
        with pytest.raises(OSError, match="with 3 failed"):
            await future
    assert await coalescer.submit(5) == 50  # nothing stuck
    assert not coalescer.busy


async def test_a_waiting_item_whose_caller_went_away_still_runs_unless_pick_drops_it():
    """A publish must go out even if the task that sent it was cancelled; a pick may drop such
    items instead (a page turn of a closed socket)."""
    for pick, expected in ((None, [[1], [2, 3]]),
                           (lambda waiting: ([w for w in waiting if not w[1].done()], []),
                            [[1], [3]])):
        recorder = Recorder()
        coalescer = Coalescer(recorder.run) if pick is None else Coalescer(recorder.run, pick)
        recorder.release.clear()
        first = asyncio.ensure_future(coalescer.submit(1))
        await asyncio.sleep(0)
        gone = asyncio.ensure_future(coalescer.submit(2))
        stays = asyncio.ensure_future(coalescer.submit(3))
        await asyncio.sleep(0)
        gone.cancel()
        recorder.release.set()
        assert await first == 10 and await stays == 30
        assert recorder.calls == expected


async def test_an_item_whose_result_is_an_exception_fails_alone():
    async def run(items):
        return [ValueError(f"item {item} refused") if item == 2 else item for item in items]

    coalescer = Coalescer(run)
    coalescer.busy = True  # as while another call runs: the three go together
    futures = [asyncio.ensure_future(coalescer.submit(n)) for n in (1, 2, 3)]
    await asyncio.sleep(0)
    await coalescer._drain()
    first, second, third = await asyncio.gather(*futures, return_exceptions=True)
    assert first == 1 and third == 3
    assert isinstance(second, ValueError) and str(second) == "item 2 refused"


async def test_a_run_that_answers_the_wrong_number_of_results_fails_its_callers_not_hangs():
    async def run(items):
        return items[:1]

    coalescer = Coalescer(run)
    coalescer.busy = True
    futures = [asyncio.ensure_future(coalescer.submit(n)) for n in (1, 2)]
    await asyncio.sleep(0)
    await coalescer._drain()
    first, second = await asyncio.gather(*futures, return_exceptions=True)
    assert first == 1 and isinstance(second, ValueError)  # zip(strict=True)
    assert not coalescer.busy
