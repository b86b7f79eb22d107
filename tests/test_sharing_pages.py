"""Pages of records, agreements and partnerships, seen from demo seats."""

from __future__ import annotations

from sqlalchemy import select

from accord.agreements.models import AgreementVersion
from accord.sharing.models import Record
from tests.conftest import browser_login, csrf_from


def _signed_in(client, make_user, role, agency):
    user = make_user(role, agency)
    assert browser_login(client, user["username"]).status_code == 200
    return user


def test_navigation_shows_the_sharing_modules(client, make_user):
    _signed_in(client, make_user, "viewer", "HVRA")
    html = client.get("/").text
    for label in ("Partnerships", "Agreements", "Records"):
        assert f">{label}</a>" in html


def test_records_list_shows_tier_badges_and_masks(client, make_user):
    _signed_in(client, make_user, "coordinator", "MCEMA")
    html = client.get("/records?q=Norovirus").text
    assert "Norovirus cluster linked to a festival food vendor" in html
    assert "TLP:AMBER" in html and "PHI masked" in html
    assert (
        "Brute-force attempts on SCADA" not in client.get("/records?q=Brute-force").text
    )  # AMBER+STRICT, not to MCEMA
    filtered = client.get("/records?tier=CLEAR&q=Road closure").text
    assert "Road closure" in filtered and "Norovirus" not in filtered
    assert client.get("/records?tier=PURPLE").status_code == 200


def test_record_page_explains_and_masks(client, make_user, db):
    _signed_in(client, make_user, "coordinator", "TCEMA")
    record = db.scalars(select(Record).where(Record.title.like("Norovirus cluster%"))).first()
    html = client.get(f"/records/{record.id}").text
    assert "Why can I see this?" in html and "Foodborne Outbreak Information-Sharing MOU" in html
    assert "Masked — PHI not granted" in html and "PCR positive" not in html
    assert "31 cases; line list held by HVHD" in html  # PII is granted by the MOU
    assert "norovirus-line-list.csv — masked, PHI not granted" in html
    assert client.get("/records/00000000-0000-0000-0000-000000000000").status_code == 404


def test_owner_sees_everything_on_the_record_page(client, make_user, db):
    _signed_in(client, make_user, "analyst", "HVHD")
    record = db.scalars(select(Record).where(Record.title.like("Norovirus cluster%"))).first()
    html = client.get(f"/records/{record.id}").text
    assert "PCR positive in 9 of 11 stool samples" in html and "Your agency owns this record" in html


def test_agreements_and_partnerships_pages(client, make_user):
    _signed_in(client, make_user, "viewer", "HVWA")
    agreements = client.get("/agreements").text
    assert "Water-Sector Cyber Threat Data-Use Agreement" in agreements
    assert "Fusion Center Data-Use Agreement" not in agreements
    partnerships = client.get("/partnerships").text
    assert "Water-Sector Cyber Alliance" in partnerships and "Regional Fusion Center network" not in partnerships


def test_signing_through_the_page(client, make_user, db):
    """The festival MOU is proposed and awaits MCEMS; its administrator signs it on the page."""
    _signed_in(client, make_user, "agency_admin", "MCEMS")
    version = db.scalars(
        select(AgreementVersion).where(AgreementVersion.title.like("Harrow River Festival Operations MOU%"))
    ).first()
    url = f"/agreements/{version.agreement_id}"
    page = client.get(url)
    assert "Sign this version" in page.text and "TLP:AMBER" in page.text
    wrong = client.post(
        f"{url}/sign",
        data={"csrf_token": csrf_from(page.text), "agency_id": "not-a-uuid", "content_hash": version.content_hash},
    )
    assert wrong.status_code == 422
    done = client.post(
        f"{url}/sign",
        data={"csrf_token": csrf_from(page.text), "agency_id": str(_mcems(db)), "content_hash": version.content_hash},
    )
    assert done.status_code == 200 and "Signed." in done.text
    assert "Sign this version" not in done.text


def _mcems(db):
    from accord.directory.models import Agency

    return db.scalar(select(Agency.id).where(Agency.short_name == "MCEMS"))
