"""A rep's Slack member id and CRM user ids in the routing document: checked for shape, every problem by path."""

from __future__ import annotations

from typing import Any

import pytest

from lead_router.domain.config import InvalidDocument, parse_document
from tests.unit.lead_router.factories import document


def _rep_errors(**rep: Any) -> dict[str, str]:
    with pytest.raises(InvalidDocument) as caught:
        parse_document(document(reps=[{"id": "rep-a", **rep}]))
    return {e["path"]: e["message"] for e in caught.value.errors}


def test_a_rep_may_carry_a_slack_member_id_and_an_id_in_each_crm() -> None:
    crm = {"hubspot_owner_id": "41629779", "salesforce_user_id": "005Dn000003xYzAIAU",
           "pipedrive_user_id": "8812", "close_user_id": "user_04EJPREurd0b3KDozVFqXSRbt2uBjw3Q"}
    [rep] = parse_document(document(reps=[{"id": "rep-a", "name": "Ana Ruiz", "slack_user_id": "U024BE7LH",
                                           "crm": crm}])).teams[0].reps
    assert rep.slack_user_id == "U024BE7LH" and rep.crm.model_dump() == crm


@pytest.mark.parametrize("member_id", ["U024BE7LH", "W012A3CDE", "UABC"])
def test_slack_member_ids_of_users_and_grid_users_are_taken(member_id: str) -> None:
    [rep] = parse_document(document(reps=[{"id": "rep-a", "slack_user_id": member_id}])).teams[0].reps
    assert rep.slack_user_id == member_id


@pytest.mark.parametrize("member_id", ["<!channel>", "@ana", "u024be7lh", "C024BE7LH", "U", "U024 BE7LH",
                                       "U024BE7LH\n", "U" + "A" * 40, 12345])
def test_anything_but_a_slack_member_id_is_refused_naming_the_rep(member_id: object) -> None:
    errors = _rep_errors(slack_user_id=member_id)
    assert list(errors) == ["teams[0].reps[0].slack_user_id"]


def test_numbers_written_without_quotes_in_yaml_are_read_as_the_ids_they_are() -> None:
    [rep] = parse_document(document(reps=[{"id": "rep-a", "crm": {"hubspot_owner_id": 41629779,
                                                                  "pipedrive_user_id": 8812}}])).teams[0].reps
    assert (rep.crm.hubspot_owner_id, rep.crm.pipedrive_user_id) == ("41629779", "8812")


@pytest.mark.parametrize(("field", "value"), [
    ("hubspot_owner_id", "ana@example.com"), ("hubspot_owner_id", "1" * 21), ("hubspot_owner_id", True),
    ("salesforce_user_id", "005Dn000003xYz"), ("salesforce_user_id", "005Dn000003xYzAIA"),
    ("salesforce_user_id", "005Dn000003xYzAIAUX"), ("salesforce_user_id", "005Dn000003-YzA"),
    ("pipedrive_user_id", "-3"), ("close_user_id", "lead_abc"), ("close_user_id", "user_" + "a" * 80),
])
def test_crm_ids_of_the_wrong_shape_or_length_are_refused_by_path(field: str, value: object) -> None:
    errors = _rep_errors(crm={field: value})
    assert list(errors) == [f"teams[0].reps[0].crm.{field}"]


def test_unknown_keys_of_a_rep_and_of_its_crm_ids_are_refused() -> None:
    errors = _rep_errors(slack="U024BE7LH", crm={"zoho_user_id": "1", "hubspot_owner_id": "x"})
    assert errors == {"teams[0].reps[0].slack": "is not a known field",
                      "teams[0].reps[0].crm.zoho_user_id": "is not a known field",
                      "teams[0].reps[0].crm.hubspot_owner_id": "must be the user's number, e.g. 41629779"}


def test_a_rep_name_is_bounded_like_the_event_that_carries_it() -> None:
    assert list(_rep_errors(name="A" * 256)) == ["teams[0].reps[0].name"]
