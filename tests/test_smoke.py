from tocsin.auth.actor import SYSTEM
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import DeclareIn


async def test_declare(seeded):
    async with seeded.db.write() as s:
        inc = await incidents.declare(
            s, SYSTEM, DeclareIn(title="x", severity="SEV1"), clock=seeded.clock
        )
    assert inc.ref == "INC-2026-01-15-001"


async def test_api(client):
    r = await client.post("/api/v1/incidents", json={"title": "x", "severity": "SEV2"})
    assert r.status_code == 201, r.text
