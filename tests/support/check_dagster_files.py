"""Check the shipped Dagster files with Dagster's own config validation, in this process's environment.

Usage: check_dagster_files.py DOCS_DIR

DOCS_DIR holds dagster.yaml and workspace.yaml. The caller sets the environment a service's container
gets from its task definition (secrets with stand-in values): every `{env: X}` the files use must be
set, and each configurable class (run coordinator, EcsRunLauncher, S3ComputeLogManager) must accept
its config. Exits 1 naming the first problem; prints what it checked otherwise.
"""

import os
import shutil
import sys
import tempfile

import yaml
from dagster._config import process_config
from dagster._core.instance.config import dagster_instance_config
from dagster._core.workspace.config_schema import ensure_workspace_config
from dagster._serdes.config_class import class_from_code_pointer

CONFIGURABLE = ("run_coordinator", "run_launcher", "compute_logs")


def main() -> None:
    docs = sys.argv[1]
    home = tempfile.mkdtemp()
    try:
        shutil.copy(os.path.join(docs, "dagster.yaml"), home)
        config, _ = dagster_instance_config(home)
        for key in CONFIGURABLE:
            entry = config[key]
            cls = class_from_code_pointer(entry["module"], entry["class"])
            result = process_config(cls.config_type(), entry.get("config") or {})
            if not result.success:
                sys.exit(f"dagster.yaml {key}: " + "; ".join(e.message for e in result.errors))
        workspace_path = os.path.join(docs, "workspace.yaml")
        with open(workspace_path) as f:
            workspace = ensure_workspace_config(yaml.safe_load(f), workspace_path)
    except Exception as error:  # Dagster's errors name the field and the variable
        sys.exit(f"{type(error).__name__}: {error}")
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print("instance:", ", ".join(sorted(config)))
    print("workspace:", workspace["load_from"])


if __name__ == "__main__":
    main()
