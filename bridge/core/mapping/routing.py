"""Which police force owns a record: from the main address's postcode area, else the managing area."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bridge.core.issues import Issue
from bridge.core.mapping.codes import CodeTable
from bridge.core.mapping.paths import MISSING, text_of
from bridge.core.mapping.spec import Routing
from bridge.core.mapping.trace import Trace
from bridge.core.mapping.transforms import NFA_POSTCODES
from bridge.core.xmltext import clean_text

__all__ = ["ROUTING_PATH", "postcode_area", "route"]

ROUTING_PATH = "envelope/OwningForce"
_AREA = re.compile(r"([A-Z]{1,2})\d", re.ASCII)


def postcode_area(postcode: str) -> str | None:
    """The letters before the first digit (`NE` for `NE1 4XF`), or None if it is not a postcode."""
    compact = "".join(clean_text(postcode)[0].split()).upper()
    if compact in NFA_POSTCODES:
        return None
    match = _AREA.match(compact)
    return match.group(1) if match else None


def route(
    routing: Routing,
    tables: Mapping[str, CodeTable],
    context: Mapping[str, Any],
    *,
    trace: Trace | None = None,
) -> tuple[str | None, list[Issue]]:
    """Choose the owning force.

    The main address's postcode area decides. With no fixed abode, no usable postcode or an
    area not in the table, the managing probation area's default force is used instead and a
    non-blocking issue asks the proxy to check it; if even that is unknown, a blocking issue asks
    them to set it.

    Returns:
        The force code (or None) and the issues raised.
    """
    main = routing.main_address.first(context)
    main = main if isinstance(main, dict) else {}
    no_fixed_abode = text_of(routing.no_fixed_abode.first(main)) == "true"
    postcode = text_of(routing.postcode.first(main))
    area = postcode_area(postcode) if postcode and not no_fixed_abode else None
    if area is not None:
        force = tables[routing.postcode_areas].lookup(area).value
        if trace is not None:
            trace.codes.add((routing.postcode_areas, area, force is not None))
        if force is not None:
            return force, []
        why = "The main address's postcode area is not in the routing table"
    elif no_fixed_abode:
        why = "The person has no fixed abode"
    else:
        why = "The main address has no usable postcode"
    code = routing.area.first(context)
    fallback = None
    if code is not MISSING:
        fallback = tables[routing.area_defaults].lookup(text_of(code) or "").value
        if trace is not None:
            trace.codes.add((routing.area_defaults, text_of(code) or "", fallback is not None))
    if fallback is not None:
        message = f"{why}; the owning force is the managing area's default. Check it."
        return fallback, [Issue("routing-default", ROUTING_PATH, message, False)]
    message = f"{why}, and the managing area has no default force; set the owning force."
    return None, [Issue("routing-unknown", ROUTING_PATH, message, True)]
