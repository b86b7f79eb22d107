from tests.conftest import api_token, bearer


def test_demo_region_is_seeded_and_listed(client):
    token = api_token(client, "analyst")
    response = client.get("/api/v1/agencies?limit=500", headers=bearer(token))
    assert response.status_code == 200
    body = response.json()
    assert body["total"] >= 12
    assert {"CCSO", "MCSO", "TCSO", "HVFC"} <= {a["short_name"] for a in body["items"]}
