"""Build hook (sdist): leave out the ``.gitignore`` hatchling always adds; it means nothing outside a checkout."""

from __future__ import annotations

import os
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class SdistWithoutVcsFiles(BuildHookInterface):  # type: ignore[misc]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        force_include = build_data.get("force_include", {})
        for source in [path for path in force_include if os.path.basename(path) == ".gitignore"]:
            del force_include[source]
