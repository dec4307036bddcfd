"""What the provider costs the DAG processor: import time and DagBag parse time, in fresh interpreters.

Probes (each run in a fresh interpreter by ``benchmarks.__main__``; each prints one JSON line):

- ``import``: time ``import airflow.sdk`` (which already brings ``DAG`` and ``BaseSensorOperator``), then
  ``import airflow_provider_polytomic.sensors.polytomic`` on top of it, and list what the second import
  brought in (``aiohttp``, the async client and the trigger modules must not be among it).
- ``dagbag FOLDER``: parse a DAG folder with Airflow's ``DagBag`` (its import is not timed); ``aiohttp`` and
  the async client must not be loaded afterwards (a trigger module may be: an asset watcher needs it).

``stub_folder`` builds the DagBag baseline: a copy of the DAG files in which the provider's classes are
replaced by stand-ins defined in the file itself.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

SENSOR_MODULE = "airflow_provider_polytomic.sensors.polytomic"
#: Never imported by a DAG file: they serve the triggerer only.
NEVER_AT_PARSE = ("aiohttp", "airflow_provider_polytomic.hooks.polytomic_async")
#: Not imported by the sensor's module either (an asset-watcher DAG file imports its trigger on purpose).
TRIGGER_MODULES = ("airflow_provider_polytomic.triggers",)
MARKER = "benchmarks.parse: the provider import starts here"

_PROVIDER_IMPORT = re.compile(
    r"^(?P<indent>[ \t]*)from airflow_provider_polytomic\.(?P<kind>sensors|operators|triggers)\.\w+ import "
    r"(?P<names>\([^)]*\)|[\w, ]+)[ \t]*$",
    re.MULTILINE,
)
_STAND_INS = """import inspect as _stand_in_inspect

from airflow.sdk import BaseOperator as _StandInOperator
from airflow.sdk import BaseSensorOperator as _StandInSensor
from airflow.triggers.base import BaseEventTrigger as _StandInTriggerBase

_STAND_IN_BASE_ARGUMENTS = set(_stand_in_inspect.signature(_StandInOperator.__init__).parameters) | set(
    _stand_in_inspect.signature(_StandInSensor.__init__).parameters
)


def _stand_in_operator(name):
    def __init__(self, **kwargs):
        own = {key: kwargs.pop(key) for key in list(kwargs) if key not in _STAND_IN_BASE_ARGUMENTS}
        _StandInSensor.__init__(self, **kwargs)
        self.stand_in_arguments = own

    return type(name, (_StandInSensor,), {"__init__": __init__, "poke": lambda self, context: False})


def _stand_in_trigger(name):
    def __init__(self, **kwargs):
        _StandInTriggerBase.__init__(self)
        self.stand_in_arguments = kwargs

    async def run(self):
        return
        yield

    def serialize(self):
        return (f"{__name__}.{name}", self.stand_in_arguments)

    return type(name, (_StandInTriggerBase,), {"__init__": __init__, "run": run, "serialize": serialize})
"""


def stub_folder(source: Path, target: Path) -> bool:
    """Copy ``source``'s DAG files to ``target``, each provider class replaced by a stand-in defined in the file.

    A stand-in sensor or operator takes the same keyword arguments and does nothing; a stand-in trigger is a
    bare ``BaseEventTrigger``. What is left is Airflow's own cost of the same DAGs: the baseline of a DagBag
    parse. False when a file imports something from the provider that cannot be stood in for.
    """
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("*.py"):
        old.unlink()
    for path in sorted(source.glob("*.py")):
        text = path.read_text(encoding="utf-8")

        def stand_in(match: re.Match[str]) -> str:
            names = [name.strip() for name in match["names"].strip("()").split(",") if name.strip()]
            factory = "_stand_in_trigger" if match["kind"] == "triggers" else "_stand_in_operator"
            lines = [_STAND_INS] + [f"{name} = {factory}({name!r})" for name in names]
            return textwrap.indent("\n".join(lines), match["indent"])

        stubbed = _PROVIDER_IMPORT.sub(stand_in, text)
        if "airflow_provider_polytomic" in stubbed:
            return False
        (target / path.name).write_text(stubbed, encoding="utf-8")
    return True


def probe_import() -> dict[str, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    import airflow.sdk  # noqa: F401

    sdk_wall, sdk_cpu = time.perf_counter() - wall, time.process_time() - cpu
    before = set(sys.modules)
    print(MARKER, file=sys.stderr, flush=True)
    wall, cpu = time.perf_counter(), time.process_time()
    __import__(SENSOR_MODULE)
    extra_wall, extra_cpu = time.perf_counter() - wall, time.process_time() - cpu
    added = sorted(set(sys.modules) - before)
    return {
        "sdk_ms": sdk_wall * 1000,
        "sdk_cpu_ms": sdk_cpu * 1000,
        "extra_ms": extra_wall * 1000,
        "extra_cpu_ms": extra_cpu * 1000,
        "modules_added": len(added),
        "packages_added": sorted({name.split(".")[0] for name in added}),
        "not_for_parse_loaded": [name for name in NEVER_AT_PARSE + TRIGGER_MODULES if _loaded(name)],
    }


def probe_dagbag(folder: str) -> dict[str, Any]:
    import inspect

    import airflow.sdk  # noqa: F401 - imported before timing, as a DAG processor has it

    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 2
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]
    options: dict[str, Any] = {"dag_folder": folder}
    if "include_examples" in inspect.signature(DagBag.__init__).parameters:
        options["include_examples"] = False
    wall, cpu = time.perf_counter(), time.process_time()
    bag = DagBag(**options)
    return {
        "ms": (time.perf_counter() - wall) * 1000,
        "cpu_ms": (time.process_time() - cpu) * 1000,
        "dags": len(bag.dags),
        "import_errors": {str(key): str(value)[:300] for key, value in bag.import_errors.items()},
        "never_at_parse_loaded": [name for name in NEVER_AT_PARSE if _loaded(name)],
        "trigger_modules_loaded": [name for name in TRIGGER_MODULES if _loaded(name)],
    }


def _loaded(prefix: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for name in sys.modules)


def import_time_lines(stderr: str) -> list[dict[str, Any]]:
    """Rows of ``python -X importtime`` output after :data:`MARKER`: module, depth, self and cumulative ms."""
    _, _, after = stderr.partition(MARKER)
    rows = []
    for line in after.splitlines():
        parts = line.split("|")
        if not line.startswith("import time:") or len(parts) != 3:
            continue
        try:
            own = int(parts[0].split(":")[1])
            cumulative = int(parts[1])
        except ValueError:
            continue
        name = parts[2].rstrip()
        depth = (len(name) - len(name.lstrip())) // 2
        rows.append({"module": name.strip(), "depth": depth, "self_ms": own / 1000, "cumulative_ms": cumulative / 1000})
    return rows


def import_breakdown(rows: list[dict[str, Any]], top: int = 8) -> dict[str, Any]:
    """Where the provider's import time goes: third-party packages it imports first, and the slowest modules."""
    packages: dict[str, float] = {}
    ours = ("airflow_provider_polytomic", "airflow")
    for index, row in enumerate(rows):
        root = row["module"].split(".")[0]
        if root in ours or row["module"] != root or row["cumulative_ms"] < 1:
            continue
        # importtime prints a module after everything it imported: its importers come later, shallower.
        depth, nested = row["depth"], False
        for later in rows[index + 1 :]:
            if later["depth"] < depth:
                depth = later["depth"]
                nested = nested or later["module"].split(".")[0] not in ours
        if not nested:
            packages[root] = packages.get(root, 0.0) + row["cumulative_ms"]
    slowest = sorted(rows, key=lambda row: row["self_ms"], reverse=True)[:top]
    return {
        "total_ms": sum(row["cumulative_ms"] for row in rows if row["depth"] == 1),
        "third_party_ms": packages,
        "slowest": [{key: row[key] for key in ("module", "self_ms", "cumulative_ms")} for row in slowest],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.parse", description=__doc__)
    sub = parser.add_subparsers(dest="probe", required=True)
    sub.add_parser("import")
    dagbag = sub.add_parser("dagbag")
    dagbag.add_argument("folder")
    args = parser.parse_args(argv)
    result = probe_import() if args.probe == "import" else probe_dagbag(args.folder)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
