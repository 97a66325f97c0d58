"""Turn a policy's ``schedules:`` entry into the pure calculator's :class:`Schedule`.

Participants are named by their handle (``dana``), whatever the policy file used.
"""

from __future__ import annotations

from collections.abc import Sequence

from tocsin.oncall import rotation
from tocsin.policy.schema import Organization, Policy
from tocsin.policy.schema_oncall import LayerSpec, Restriction, ScheduleSpec


def zone_of(spec: ScheduleSpec, organization: Organization) -> str:
    return spec.timezone or organization.timezone


def _windows(restriction: Restriction, organization: Organization) -> tuple[rotation.Window, ...]:
    if restriction == "business_hours":
        hours = organization.business_hours
        days = [rotation.Weekday[d.upper()] for d in hours.days]
        return rotation.daily_windows(days, hours.start, hours.end)
    return tuple(w for spec in restriction for w in spec.windows())


def _layer(spec: ScheduleSpec, index: int, layer: LayerSpec, policy: Policy) -> rotation.Layer:
    handles = []
    for ref in layer.participants:
        person = policy.person(ref)
        handles.append(person.handle if person else ref)
    restrictions: tuple[rotation.Window, ...] = ()
    if layer.during is not None:
        restrictions = _windows(layer.during, policy.organization)
    elif layer.outside is not None:
        restrictions = rotation.complement(_windows(layer.outside, policy.organization))
    return rotation.Layer(
        rotation.Rotation(
            key=f"{spec.key}/{layer.name or index}",
            zone=zone_of(spec, policy.organization),
            participants=handles,
            length=layer.length(),
            start=layer.start_wall(),
        ),
        restrictions,
    )


def build(
    spec: ScheduleSpec, policy: Policy, overrides: Sequence[rotation.Override] = ()
) -> rotation.Schedule:
    """The schedule ``spec`` with ``overrides`` on top (people as handles)."""
    layers = [_layer(spec, i, layer, policy) for i, layer in enumerate(spec.layers)]
    return rotation.Schedule(layers, overrides)
