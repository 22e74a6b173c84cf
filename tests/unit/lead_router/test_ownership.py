"""Company email domains identify an account; free-mail domains never do."""

from __future__ import annotations

import pytest

from lead_router.domain.ownership import company_domain


@pytest.mark.parametrize(("email", "domain"), [
    ("ana@fintastic.com", "fintastic.com"), ("Ana@Fintastic.COM", "fintastic.com"),
    ("bo@gmail.com", None), ("cy@outlook.com", None), ("dee@gmx.de", None), (None, None), ("not-an-email", None),
])
def test_only_company_domains_count(email: str | None, domain: str | None) -> None:
    assert company_domain(email) == domain
