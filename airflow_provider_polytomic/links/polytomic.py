"""The "Polytomic sync" extra link: the sync's page in the Polytomic app, on the sensor's and operators' tasks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import TaskInstanceKey

#: The XCom key the task writes the link under (the URL is built from the connection's host when it runs).
SYNC_URL_XCOM_KEY = "polytomic_sync_url"


class PolytomicSyncLink(BaseOperatorLink):
    """ "Polytomic sync": the sync's page in the Polytomic app (host from the connection)."""

    name = "Polytomic sync"

    def get_link(self, operator: Any, *, ti_key: TaskInstanceKey) -> str:
        from airflow.providers.common.compat.sdk import XCom

        url = XCom.get_value(ti_key=ti_key, key=SYNC_URL_XCOM_KEY)
        return url if isinstance(url, str) else ""
