"""ADMIN_TOKEN can be rotated without downtime: the previous token stays valid until it is unset."""

from __future__ import annotations

import pytest

from shared.http import token_matches
from shared.settings import ServiceSettings


def test_both_tokens_are_accepted_while_rotating_and_only_the_new_one_after() -> None:
    rotating = ServiceSettings(admin_token="new", admin_token_previous="old")
    assert rotating.admin_tokens == (b"new", b"old")
    assert token_matches("new", rotating.admin_tokens) and token_matches("old", rotating.admin_tokens)
    assert not token_matches("other", rotating.admin_tokens) and not token_matches("", rotating.admin_tokens)
    done = ServiceSettings(admin_token="new", admin_token_previous="")
    assert done.admin_tokens == (b"new",) and not token_matches("old", done.admin_tokens)


def test_the_previous_token_alone_is_not_enough_to_start() -> None:
    with pytest.raises(ValueError, match="ADMIN_TOKEN is not set"):
        ServiceSettings(admin_token_previous="old")
