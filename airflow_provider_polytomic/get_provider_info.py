"""Provider metadata for Airflow's providers manager (entry point ``apache_airflow_provider``)."""

from __future__ import annotations

from typing import Any

from airflow_provider_polytomic import __version__, connection_form

#: The README on the repository (pyproject's ``Documentation`` URL, which Airflow 3.3 reads from the package's
#: metadata; older Airflow versions read this key).
DOCUMENTATION_URL = "https://github.com/polytomic/airflow-provider-polytomic#readme"


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-polytomic",
        "name": "Polytomic",
        "description": "Wait on and start `Polytomic <https://www.polytomic.com/>`__ syncs (ETL, reverse ETL, CDC).",
        "documentation-url": DOCUMENTATION_URL,
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Polytomic",
                "external-doc-url": "https://apidocs.polytomic.com/",
                "tags": ["service"],
            }
        ],
        "hooks": [
            {
                "integration-name": "Polytomic",
                "python-modules": ["airflow_provider_polytomic.hooks.polytomic"],
            }
        ],
        "operators": [
            {
                "integration-name": "Polytomic",
                "python-modules": ["airflow_provider_polytomic.operators.polytomic"],
            }
        ],
        "sensors": [
            {
                "integration-name": "Polytomic",
                "python-modules": ["airflow_provider_polytomic.sensors.polytomic"],
            }
        ],
        "triggers": [
            {
                "integration-name": "Polytomic",
                "python-modules": [
                    "airflow_provider_polytomic.triggers.polytomic",
                    "airflow_provider_polytomic.triggers.polytomic_events",
                ],
            }
        ],
        "connection-types": [
            {
                "connection-type": "polytomic",
                "hook-class-name": "airflow_provider_polytomic.hooks.polytomic.PolytomicHook",
                "hook-name": "Polytomic",
                "conn-fields": {
                    name: {key: field[key] for key in ("label", "description", "schema")}
                    for name, field in connection_form.EXTRA_FIELDS.items()
                },
                "ui-field-behaviour": {
                    "hidden-fields": list(connection_form.HIDDEN_FIELDS),
                    "relabeling": dict(connection_form.RELABELING),
                    "placeholders": dict(connection_form.PLACEHOLDERS),
                },
            }
        ],
        "extra-links": ["airflow_provider_polytomic.links.polytomic.PolytomicSyncLink"],
        "config": {
            "polytomic": {
                "description": "The Polytomic provider's settings for the triggerer.",
                "options": {
                    "still_waiting_log_interval": {
                        "description": (
                            "Seconds of silence after which a deferred Polytomic wait logs a 'still waiting' line "
                            "(status and counts). A deferred wait logs its start, each change it sees, warnings and "
                            "its end; not every poll."
                        ),
                        "version_added": "0.1.0",
                        "type": "float",
                        "example": "300",
                        "default": "600",
                    }
                },
            }
        },
    }
