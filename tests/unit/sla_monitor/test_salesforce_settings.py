"""Salesforce write-back is on exactly when its URL and client credentials are all set; half a configuration
stops the start with a sentence naming what is missing."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from shared.clock import SystemClock
from sla_monitor.channels.salesforce import SalesforceChannel
from sla_monitor.main import delivery_channels
from sla_monitor.settings import SlaMonitorSettings

CONFIGURED = {"salesforce_instance_url": "https://acme.my.salesforce.com", "salesforce_client_id": "3MVG9id",
              "salesforce_client_secret": "s3cret"}


async def test_a_complete_configuration_registers_the_channel_and_its_builtin_target() -> None:
    settings = SlaMonitorSettings(admin_token="x", **CONFIGURED)  # type: ignore[arg-type]
    async with httpx.AsyncClient() as http:
        channels, builtin = delivery_channels(settings, clock=SystemClock(), http=http, crm_http=http)
        assert isinstance(channels["salesforce"], SalesforceChannel)
        assert [(t.id, t.url) for t in builtin] == [("builtin-salesforce", "https://acme.my.salesforce.com")]
        channels, builtin = delivery_channels(SlaMonitorSettings(admin_token="x"), clock=SystemClock(), http=http,
                                              crm_http=http)
        assert "salesforce" not in channels and builtin == []


@pytest.mark.parametrize("left_out", sorted(CONFIGURED))
def test_half_a_configuration_is_refused_naming_what_is_missing(left_out: str) -> None:
    values = {key: value for key, value in CONFIGURED.items() if key != left_out}
    with pytest.raises(ValidationError) as refused:
        SlaMonitorSettings(admin_token="x", **values)  # type: ignore[arg-type]
    message = " ".join(str(error["msg"]) for error in refused.value.errors())  # what the service prints
    assert left_out.upper() in message and "s3cret" not in message


def test_the_api_version_must_look_like_salesforces() -> None:
    with pytest.raises(ValidationError):
        SlaMonitorSettings(admin_token="x", salesforce_api_version="62")
