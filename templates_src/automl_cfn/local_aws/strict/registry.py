"""Which handler creates, updates, deletes and finds each resource type in strict mode."""

from __future__ import annotations

from . import access_handlers, compute_handlers, resources

HANDLERS: dict[str, resources.Handler] = {**resources.HANDLERS, **access_handlers.HANDLERS,
                                          **compute_handlers.HANDLERS}
DEFAULT = resources.MotoHandler()
PLACEHOLDER = resources.PlaceholderHandler()


def handler_for(resource_type: str) -> resources.Handler:
    if resource_type in HANDLERS:
        return HANDLERS[resource_type]
    if DEFAULT.model(resource_type) is None:
        return PLACEHOLDER
    return DEFAULT
