"""``PolytomicHook``: the Polytomic REST API over ``requests``, for workers."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from typing import Any, TypeVar, Unpack

import requests
from airflow.providers.common.compat.sdk import AirflowNotFoundException, BaseHook
from tenacity import RetryCallState

from airflow_provider_polytomic import connection_form
from airflow_provider_polytomic.core import definitions, protocol, sync_list, transport
from airflow_provider_polytomic.core.bulk_start import BulkStartOptions
from airflow_provider_polytomic.core.config import ClientConfig, connection_not_defined
from airflow_provider_polytomic.core.console_log import ConsoleLog, get_console_log
from airflow_provider_polytomic.core.constants import DEFAULT_CONN_ID, SyncKind
from airflow_provider_polytomic.core.definitions import (
    BulkSyncDefinition,
    ConnectionDefinition,
    ModelDefinition,
    ModelSyncDefinition,
)
from airflow_provider_polytomic.core.errors import PolytomicError
from airflow_provider_polytomic.core.identity import Identity, get_identity
from airflow_provider_polytomic.core.models import Execution, SyncStatus
from airflow_provider_polytomic.core.protocol import ApiCall
from airflow_provider_polytomic.core.sync_list import SyncListItem
from airflow_provider_polytomic.hooks.deadline import Deadline, DeadlineAdapter

#: requests' errors that mean "this request cannot be sent as built" (a connection that can never work).
_INVALID = (
    requests.exceptions.InvalidURL,
    requests.exceptions.InvalidHeader,
    requests.exceptions.InvalidSchema,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidProxyURL,
    requests.exceptions.URLRequired,
)

T = TypeVar("T")


class PolytomicHook(BaseHook):
    """Talks to the Polytomic API with the key of an Airflow connection of type ``polytomic``.

    One ``requests.Session`` serves the hook's life. Every request carries ``X-Polytomic-Version``, is bounded
    by the connection's ``timeout`` as a whole and reaches Polytomic as
    :mod:`~airflow_provider_polytomic.core.transport` says (proxy, CA bundle; never netrc or redirects);
    transient failures are retried as :class:`~airflow_provider_polytomic.core.retry.RetryPolicy` says. The
    connection is read on first use, not when the hook is created.

    :param polytomic_conn_id: The Airflow connection holding the API key (password), the optional
        organization id for deployment keys (login) and the optional base URL (host).
    """

    conn_name_attr = "polytomic_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = "polytomic"
    hook_name = "Polytomic"

    def __init__(self, polytomic_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.polytomic_conn_id = polytomic_conn_id

    # -- connection ---------------------------------------------------------------------------------------

    @cached_property
    def config(self) -> ClientConfig:
        """The connection's settings, read once."""
        try:
            conn = self.get_connection(self.polytomic_conn_id)
        except AirflowNotFoundException:
            raise connection_not_defined(self.polytomic_conn_id) from None
        return ClientConfig.from_airflow(self.polytomic_conn_id, conn, conn.extra_dejson, self.log)

    @cached_property
    def route(self) -> transport.Route:
        """How this process reaches Polytomic (proxy, CA bundle, bounds), read from the environment once."""
        return transport.route_for(self.config)

    @cached_property
    def session(self) -> requests.Session:
        session = requests.Session()
        # The environment's proxies and CA bundle reach requests through the route, identically to aiohttp;
        # trust_env=False keeps requests from also reading ~/.netrc, whose credentials would replace the key.
        session.trust_env = False
        adapter = DeadlineAdapter()
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        return session

    def close(self) -> None:
        if "session" in self.__dict__:
            self.session.close()
            del self.__dict__["session"]

    # -- API ----------------------------------------------------------------------------------------------

    def get_sync_status(self, sync_id: str, kind: SyncKind = SyncKind.MODEL) -> SyncStatus:
        """``GET .../syncs/{sync_id}/status``: the run in progress, the last finished run, the next run."""
        return self.run(protocol.get_sync_status(sync_id, kind))

    def get_execution(self, sync_id: str, execution_id: str, kind: SyncKind = SyncKind.MODEL) -> Execution:
        """``GET .../syncs/{sync_id}/executions/{execution_id}`` (a bulk one lists its schemas)."""
        return self.run(protocol.get_execution(sync_id, execution_id, kind))

    def start_sync(
        self,
        sync_id: str,
        *,
        idempotency_key: str,
        resync: bool = False,
        identities: list[str] | None = None,
        test: bool = False,
    ) -> Execution:
        """``POST /api/syncs/{sync_id}/executions``: start a run (409, :class:`PolytomicConflictError`, when one is
        going). A repeat with the same ``idempotency_key`` returns the first run instead of starting another."""
        return self.run(
            protocol.start_sync(
                sync_id, idempotency_key=idempotency_key, resync=resync, identities=identities, test=test
            )
        )

    def start_bulk_sync(self, sync_id: str, *, idempotency_key: str, **options: Unpack[BulkStartOptions]) -> Execution:
        """``POST /api/bulk/syncs/{sync_id}/executions``; the same idempotency as :meth:`start_sync`. The options
        (``fetch_mode``, ``resync_mode``, ``schemas``, ``test``) are :class:`~.core.bulk_start.BulkStartOptions`."""
        return self.run(protocol.start_bulk_sync(sync_id, idempotency_key=idempotency_key, **options))

    def cancel_execution(self, sync_id: str, execution_id: str, kind: SyncKind = SyncKind.MODEL) -> str:
        """``POST .../syncs/{sync_id}/executions/{execution_id}/cancel``; Polytomic's message."""
        return self.run(protocol.cancel_execution(sync_id, execution_id, kind))

    def get_identity(self) -> Identity:
        """``GET /api/me``: who the key belongs to."""
        return self.run(get_identity())

    def get_sync_definition(self, sync_id: str) -> ModelSyncDefinition:
        """``GET /api/syncs/{sync_id}``: the model sync's definition (name, models, target)."""
        return self.run(definitions.get_sync_definition(sync_id))

    def get_bulk_sync_definition(self, sync_id: str) -> BulkSyncDefinition:
        """``GET /api/bulk/syncs/{sync_id}``: the bulk sync's definition (name, source, destination)."""
        return self.run(definitions.get_bulk_sync_definition(sync_id))

    def get_model(self, model_id: str) -> ModelDefinition:
        """``GET /api/models/{model_id}``: the model's connection and configuration."""
        return self.run(definitions.get_model(model_id))

    def get_connection_definition(self, connection_id: str) -> ConnectionDefinition:
        """``GET /api/connections/{connection_id}``: the connection's type and configuration (may hold secrets)."""
        return self.run(definitions.get_connection(connection_id))

    def list_syncs(self, kind: SyncKind = SyncKind.MODEL, active: bool | None = None) -> Iterator[SyncListItem]:
        """Every sync of the organization (``GET /api/syncs`` or ``/api/bulk/syncs``), each page read only when the
        one before is used up; at most 200 pages. ``active``: only running (True) or paused (False) syncs."""
        return sync_list.walk(self.run, kind, active=active, conn_id=self.polytomic_conn_id)

    def find_sync(self, name: str, kind: SyncKind = SyncKind.MODEL) -> SyncListItem:
        """The one sync named exactly ``name`` (case-sensitive); :class:`PolytomicNotFoundError` (with close
        names) when there is none, :class:`PolytomicConfigError` (with their ids) when there are several."""
        return sync_list.choose(name, self.list_syncs(kind), kind=kind, conn_id=self.polytomic_conn_id)

    def get_console_log(
        self,
        sync_id: str,
        execution_id: str,
        kind: SyncKind = SyncKind.MODEL,
        after: str | None = None,
        limit: int = 50,
    ) -> ConsoleLog:
        """``GET .../executions/{execution_id}/consolelog``: the execution's most recent console entries (at most
        50), or those newer than the cursor ``after``; ``next_cursor`` asks for the next ones."""
        return self.run(get_console_log(sync_id, execution_id, kind, after=after, limit=limit))

    def test_connection(self) -> tuple[bool, str]:
        """One cheap authenticated call, for the UI's Test button; a failure names the base URL it tried."""
        try:
            identity = self.get_identity()
        except PolytomicError as error:
            message = str(error)
            try:
                base_url = self.config.base_url
            except PolytomicError:
                return False, message  # the connection itself is wrong, and the message says how
            return False, message if base_url in message else f"{message} Base URL tried: {base_url}"
        who = identity.email or identity.id or "an API key"
        organization = identity.organization_name or identity.organization_id or "unknown organization"
        return True, f"Connected to Polytomic organization '{organization}' as {who}."

    def run(self, call: ApiCall[T]) -> T:
        """Send ``call``, retrying transient failures, and return its parsed result."""
        config = self.config
        result: T = config.retry.call(self._send, config, call, before_sleep=self._log_retry)
        return result

    def _send(self, config: ClientConfig, call: ApiCall[T]) -> T:
        context = call.context(config)
        route = self.route
        proxy = route.proxy_as_given
        with Deadline(route.timeout) as deadline:
            try:
                response = self.session.request(
                    call.method,
                    call.url(config),
                    headers=call.headers(config, client="requests"),
                    params=call.params,
                    data=call.json_body(),
                    timeout=route.timeout,
                    verify=transport.requests_verify(route),
                    proxies={"http": proxy, "https": proxy} if proxy else None,
                    allow_redirects=False,
                    stream=True,
                )
                with response:
                    reader = transport.BodyReader(context, route, response.headers)
                    for chunk in response.iter_content(transport.READ_CHUNK):
                        reader.add(chunk)
            except _INVALID as error:
                raise transport.request_failed(config, context, error, timed_out=False, invalid=True) from None
            except (requests.RequestException, OSError) as error:
                timed_out = deadline.expired or isinstance(error, requests.Timeout)
                raise transport.request_failed(config, context, error, timed_out=timed_out) from None
        return call.read(config, response.status_code, response.headers, reader.body())

    def _log_retry(self, state: RetryCallState) -> None:
        self.log.warning(self.config.retry.describe_retry(state))

    # -- connection form (Airflow 2.x; Airflow >= 3.2 reads the declarative form in get_provider_info) -----

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import StringField

        return {
            name: StringField(
                lazy_gettext(field["label"]), widget=BS3TextFieldWidget(), description=field["description"]
            )
            for name, field in connection_form.EXTRA_FIELDS.items()
        }

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {
            "hidden_fields": list(connection_form.HIDDEN_FIELDS),
            "relabeling": dict(connection_form.RELABELING),
            "placeholders": dict(connection_form.PLACEHOLDERS),
        }
