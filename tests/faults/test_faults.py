"""Crashes and outages in the middle of a burst of 500 leads (half of them promptly called): afterwards every
202'd lead is assigned exactly once, every clock is met or breached exactly once, every breach is delivered
under one webhook-id, and the DLQs hold only the poison we sent. Each scenario prints its numbers
(``FAULTS[...]`` lines, run with ``-s``)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.faults.harness import FaultRun, PrivatePostgres

pytestmark = pytest.mark.faults


@pytest.mark.parametrize("service", ["intake", "router", "sla-monitor"])
async def test_kill_9_in_the_middle_of_a_burst_loses_and_doubles_nothing(
        service: str, private_postgres: PrivatePostgres, tmp_path: Path) -> None:
    async with FaultRun(f"kill-9-{service}", tmp_path, private_postgres) as run:

        async def crash_and_restart() -> None:
            await asyncio.to_thread(run.stack.kill9, service)
            await asyncio.sleep(2)
            await asyncio.to_thread(run.stack.start_service, service)

        await run.burst(fault=crash_and_restart)
        await run.settle()
        report = await run.report()
    report.print()
    report.assert_nothing_lost_or_doubled()


async def test_a_broker_frozen_for_10_seconds_loses_and_doubles_nothing(
        private_postgres: PrivatePostgres, tmp_path: Path) -> None:
    async with FaultRun("broker-frozen-10s", tmp_path, private_postgres) as run:

        async def freeze() -> None:
            run.stack.freeze_broker()
            try:
                await asyncio.sleep(10)
            finally:
                run.stack.thaw_broker()

        await run.burst(fault=freeze)
        await run.settle()
        report = await run.report()
    report.print()
    report.assert_nothing_lost_or_doubled()


async def test_postgresql_down_for_60_seconds_loses_and_doubles_nothing(
        private_postgres: PrivatePostgres, tmp_path: Path) -> None:
    """The database goes away while the router and the sla-monitor have a backlog to work through (they are
    held for 3 s first so one builds up on Kafka), stays away 60 s, and comes back."""
    async with FaultRun("postgres-down-60s", tmp_path, private_postgres) as run:

        async def outage() -> None:
            for service in ("router", "sla-monitor"):
                run.stack.pause(service)
            try:
                await asyncio.sleep(3)
                await asyncio.to_thread(private_postgres.stop)
            finally:
                for service in ("router", "sla-monitor"):
                    run.stack.resume(service)
            try:
                await asyncio.sleep(60)
            finally:
                await asyncio.to_thread(private_postgres.start)

        await run.burst(fault=outage)
        await run.settle(timeout=300)
        report = await run.report()
    report.print()
    report.assert_nothing_lost_or_doubled()


async def test_200_promptly_touched_leads_never_breach(private_postgres: PrivatePostgres, tmp_path: Path) -> None:
    """Every lead is called in the second it was assigned (dated at the start of that second, as CRMs report
    whole seconds): 0 false breaches."""
    async with FaultRun("false-breaches", tmp_path, private_postgres, leads=200, touch_same_second=True,
                        touch_all=True, poison=False) as run:
        await run.burst()
        await run.settle()
        report = await run.report()
    report.print()
    assert report.touched == report.posted == 200, (report.touched, report.posted, report.touch_failures)
    assert report.touched_but_breached == [], f"{len(report.touched_but_breached)} false breaches of {report.touched}"
    report.assert_nothing_lost_or_doubled()
