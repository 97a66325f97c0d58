"""A public view made by hand, for the rendering tests: a group of two components (one in
a major outage), one on its own, an active incident, a resolved one three days ago,
maintenance in progress and scheduled, and 90 days of uptime with a partial outage."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from tocsin.statuspage.public import DayUptime, PublicView

NOW = datetime(2026, 3, 10, 13, 0, tzinfo=UTC)
ZONE = "Europe/Amsterdam"
ACTIVE_BODY = "Scores are not being saved. We are looking into it."
RESOLVED_BODY = "Game loading works again for everyone."


def _at(delta: timedelta) -> str:
    return (NOW + delta).isoformat(timespec="milliseconds")


def _update(
    uid: str, incident: str, status: str, body: str, at: timedelta, **kw: Any
) -> dict[str, Any]:
    return {
        "id": uid,
        "status": status,
        "body": body,
        "incident_id": incident,
        "created_at": _at(at),
        "updated_at": _at(at),
        "display_at": _at(at),
        "affected_components": kw.get("affected"),
        "deliver_notifications": True,
        "custom_tweet": None,
        "tweet_id": None,
    }


def _incident(
    iid: str,
    name: str,
    status: str,
    impact: str,
    at: timedelta,
    updates: list[dict[str, Any]],
    **extra: Any,
) -> dict[str, Any]:
    return {
        "id": iid,
        "name": name,
        "status": status,
        "created_at": _at(at),
        "updated_at": updates[0]["created_at"],
        "monitoring_at": None,
        "resolved_at": updates[0]["created_at"] if status == "resolved" else None,
        "impact": impact,
        "shortlink": f"https://status.example.org/incidents/{iid}",
        "started_at": _at(at),
        "page_id": "pg1",
        "incident_updates": updates,
        "components": [],
        **extra,
    }


def _days(bad: dict[int, tuple[str, float, list[str]]]) -> list[DayUptime]:
    today = NOW.date()
    out = []
    for back in range(89, -1, -1):
        worst, up, names = bad.get(back, ("operational", 1.0, []))
        out.append(DayUptime(today - timedelta(days=back), up, worst, names))
    return out


def component(
    cid: str, name: str, status: str, position: int, group_id: str | None = None
) -> dict[str, Any]:
    return {
        "id": cid,
        "name": name,
        "status": status,
        "created_at": _at(timedelta(days=-200)),
        "updated_at": _at(timedelta(hours=-1)),
        "position": position,
        "description": None,
        "showcase": True,
        "start_date": "2025-08-22",
        "group_id": group_id,
        "page_id": "pg1",
        "group": False,
        "only_show_if_degraded": False,
    }


def sample_view(locale: str = "en", **changes: Any) -> PublicView:
    group = component("learning", "Learning", "major_outage", 1) | {
        "group": True,
        "showcase": False,
        "components": ["score-recording", "game-player"],
    }
    components = [
        group,
        component("score-recording", "Score Recording", "major_outage", 1, "learning"),
        component("game-player", "Game Player", "operational", 2, "learning"),
        component("payments", "Payments and Subscriptions", "operational", 3),
    ]
    active = _incident(
        "inc0active",
        "Scores are not saving",
        "identified",
        "major",
        timedelta(hours=-2),
        [
            _update(
                "u2",
                "inc0active",
                "identified",
                "A database migration locks the scores table.",
                timedelta(hours=-1),
                affected=[
                    {
                        "code": "score-recording",
                        "name": "Score Recording",
                        "old_status": "partial_outage",
                        "new_status": "major_outage",
                    }
                ],
            ),
            _update("u1", "inc0active", "investigating", ACTIVE_BODY, timedelta(hours=-2)),
        ],
    )
    resolved = _incident(
        "inc0old",
        "Games do not load",
        "resolved",
        "minor",
        timedelta(days=-3),
        [
            _update("u4", "inc0old", "resolved", RESOLVED_BODY, timedelta(days=-3, hours=2)),
            _update(
                "u3", "inc0old", "investigating", "Some games do not load.", timedelta(days=-3)
            ),
        ],
    )
    in_progress = _incident(
        "mnt0now",
        "Database upgrade",
        "in_progress",
        "maintenance",
        timedelta(minutes=-30),
        [
            _update(
                "u5", "mnt0now", "in_progress", "The upgrade has started.", timedelta(minutes=-30)
            )
        ],
        scheduled_for=_at(timedelta(minutes=-30)),
        scheduled_until=_at(timedelta(hours=1)),
    )
    upcoming = _incident(
        "mnt0next",
        "Payment provider switch",
        "scheduled",
        "maintenance",
        timedelta(days=-1),
        [
            _update(
                "u6", "mnt0next", "scheduled", "Payments pause for ten minutes.", timedelta(days=-1)
            )
        ],
        scheduled_for=_at(timedelta(days=2)),
        scheduled_until=_at(timedelta(days=2, hours=1)),
    )
    fields: dict[str, Any] = {
        "version": 7,
        "page": {
            "id": "pg1",
            "name": "Example Learning",
            "url": "https://status.example.org",
            "time_zone": ZONE,
            "updated_at": _at(timedelta(minutes=-30)),
        },
        "status": {"indicator": "critical", "description": "Major System Outage"},
        "components": components,
        "incidents": [active, resolved],
        "scheduled_maintenances": [upcoming, in_progress],
        "uptime": {
            "score-recording": _days(
                {
                    0: ("major_outage", 0.9, ["Scores are not saving"]),
                    20: ("partial_outage", 0.95, ["Slow score saving"]),
                }
            ),
            "game-player": _days({3: ("degraded_performance", 0.92, ["Games do not load"])}),
            "payments": _days({}),
        },
        "uptime_percent": {"score-recording": 99.94, "game-player": 99.91, "payments": 100.0},
        "locale": locale,
        "generated_at": NOW,
    }
    fields.update(changes)
    return PublicView(**fields)


def today() -> date:
    return NOW.date()
