"""The feeds as an engine extension: static sites on the extension, state in ``extras``.

Attached on the first feed an engine takes (:func:`attach_feeds`, in the loop thread), so an
engine that never sees a feed carries nothing. Its step does nothing (feeds change the state
only when a batch is applied); its view gives readers ``feeds``: :func:`twin.feeds.status.status`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from twin.feeds.sites import Sites, sites_of
from twin.feeds.state import KEY, FeedState, new_state

if TYPE_CHECKING:
    from twin.engine import Engine

__all__ = ["FeedsExtension", "attach_feeds", "feed_sites", "feed_state"]


@dataclass(frozen=True)
class FeedsExtension:
    """Static feed data (:class:`twin.feeds.sites.Sites`) shared by an engine and its forks."""

    sites: Sites
    name: str = KEY
    crowd: bool = False

    def step(self, engine: Engine, dt_s: float) -> None:
        return None

    def view(self, engine: Engine) -> dict[str, Any]:
        from twin.feeds.status import status

        if engine.state.extras.get(KEY) is None:
            return {}
        return {KEY: status(engine)}


def feed_sites(engine: Engine) -> Sites:
    """The engine's feed sites (from its extension when attached; built otherwise)."""
    extension = engine.extension(KEY)
    return extension.sites if extension is not None else sites_of(engine)


def feed_state(engine: Engine) -> FeedState | None:
    """The engine's feed state, or None before its first feed."""
    return engine.state.extras.get(KEY)


def empty_state(sites: Sites) -> FeedState:
    return new_state(
        sites.n_detectors,
        sites.n_checkpoints,
        int(sites.max_lanes.max()) if sites.n_checkpoints else 1,
    )


def attach_feeds(engine: Engine) -> FeedState:
    """Attach the feeds extension (once) and return the feed state (made empty when the state,
    say a restored snapshot, holds none)."""
    extension = engine.extension(KEY)
    if extension is None:
        extension = FeedsExtension(sites_of(engine))
        engine.attach(extension)
    state = engine.state.extras.get(KEY)
    if state is None:
        state = empty_state(extension.sites)
        engine.state.extras[KEY] = state
    return state
