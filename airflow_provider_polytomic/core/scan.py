"""Reading a sync's executions list newest first, page by page, down to a boundary. No I/O.

Both the gate's anchored look-up (which execution was in progress at the anchor?) and the asset watcher's scan
(which executions finished since the watermark?) read the list this way; both use :class:`NewestFirstScan`.

Polytomic's page tokens are offsets: when a run starts while the list is being read, the next page repeats the
last execution of the previous one. The scan keeps each execution id once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from airflow_provider_polytomic.core.clock import ServerClock
from airflow_provider_polytomic.core.models import Execution, ExecutionPage

#: A scan reads at most this many pages.
MAX_PAGES = 10


@dataclass
class NewestFirstScan:
    """Collects executions, newest first and each id once, until ``is_older`` says one lies beyond the boundary
    (everything after it in the list is older still) or the list ends.

    Feed it pages with :meth:`feed`; it says whether it wants the next one (``page_token``).
    """

    is_older: Callable[[Execution], bool]
    max_pages: int = MAX_PAGES
    found: list[Execution] = field(default_factory=list)
    page_token: str | None = None
    pages: int = 0
    #: Whether the scan stopped at ``max_pages`` before reaching the boundary.
    truncated: bool = False
    #: Polytomic's clock as the first page's answer showed it (``Date``), if it did.
    clock: ServerClock | None = None
    _ids: set[str] = field(default_factory=set, repr=False)

    def feed(self, page: ExecutionPage) -> bool:
        """Take one page; True when the next page (``page_token``) is needed."""
        self.pages += 1
        self.clock = self.clock or page.clock
        for execution in page.executions:
            if self.is_older(execution):
                self.page_token = None
                return False
            if execution.id not in self._ids:
                self._ids.add(execution.id)
                self.found.append(execution)
        self.page_token = page.next_page_token
        if self.page_token and self.pages >= self.max_pages:
            self.truncated, self.page_token = True, None
        return self.page_token is not None
