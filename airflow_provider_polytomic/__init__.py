"""Apache Airflow provider for Polytomic: wait on, and start, Polytomic syncs from a DAG.

Kept free of imports so that reading the version (``pip``, ``get_provider_info``) costs nothing.
"""

__version__ = "0.1.0"
