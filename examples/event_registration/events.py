"""The events on offer. A real site would keep these in its database; three are enough here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    title: str
    when: str
    summary: str
    supporters_only: bool = False


EVENTS: tuple[Event, ...] = (
    Event(
        "build-night",
        "Community Build Night",
        "Friday 19:00 UTC",
        "Bring a half-finished world and build alongside everyone else.",
    ),
    Event(
        "avatar-workshop",
        "Avatar Workshop",
        "Saturday 16:00 UTC",
        "Rigging, materials and blendshapes, step by step with the community's creators.",
    ),
    Event(
        "supporter-meetup",
        "Supporter Meetup",
        "Sunday 18:00 UTC",
        "A thank-you gathering with the team, for everyone who currently supports the platform.",
        supporters_only=True,
    ),
)


def find_event(event_id: str | None) -> Event | None:
    return next((event for event in EVENTS if event.id == event_id), None)
