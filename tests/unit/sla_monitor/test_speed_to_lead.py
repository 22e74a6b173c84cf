"""Speed-to-lead figures per group: counts, median and p90 first response, touches per lead."""

from __future__ import annotations

from sla_monitor.domain.reports import ClockFacts, percentile, speed_to_lead


def test_percentiles_use_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 11)]
    assert (percentile(values, 0.5), percentile(values, 0.9), percentile([], 0.5)) == (5.0, 9.0, None)


def test_groups_count_leads_responses_and_breaches() -> None:
    facts = [
        ClockFacts("na", "l1", "met", 60.0, 3),
        ClockFacts("na", "l2", "breached", 4000.0, 1),
        ClockFacts("na", "l3", "running", None, 0),
        ClockFacts("emea", "l4", "met", 10.0, 2),
    ]
    emea, na = speed_to_lead(facts)
    assert emea == {"group": "emea", "leads": 1, "followed_up": 1, "met_within_sla": 1, "breached": 0,
                    "median_first_response_seconds": 10.0, "p90_first_response_seconds": 10.0,
                    "touches_per_lead": 2.0}
    assert (na["leads"], na["followed_up"], na["met_within_sla"], na["breached"]) == (3, 2, 1, 1)
    assert (na["median_first_response_seconds"], na["p90_first_response_seconds"]) == (60.0, 4000.0)
    assert na["touches_per_lead"] == 1.33
