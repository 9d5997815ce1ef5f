"""Review queue depth and age: refreshed after each batch and in the background, so queues
nobody touched since a restart are still reported."""

from collections.abc import Iterable
from contextlib import suppress

from services.publisher import metrics
from services.publisher.views import CommentViews


class ReviewGauges:
    def __init__(self, views: CommentViews) -> None:
        self._views = views
        self._known: set[str] = set()

    async def update(self, tenants: Iterable[str]) -> None:
        for tenant in tenants:
            depth = await self._views.review_depth(tenant)
            oldest = await self._views.review_oldest(tenant)
            metrics.REVIEW_QUEUE_DEPTH.labels(tenant=tenant).set(depth)
            if oldest is None:
                with suppress(KeyError):  # never set, or already removed
                    metrics.REVIEW_QUEUE_OLDEST.remove(tenant)
            else:
                metrics.REVIEW_QUEUE_OLDEST.labels(tenant=tenant).set(oldest.timestamp())
            self._known.add(tenant)

    async def refresh(self) -> None:
        """Every tenant with a queue, and those whose queue emptied (their key is gone)."""
        await self.update(await self._views.review_tenants() | self._known)
