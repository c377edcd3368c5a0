"""Renders and lints a Helm chart with helm-python-sdk (Helm v4's engine, no helm binary) for the
Rust tests. Usage: render.py CHART RELEASE NAMESPACE [VALUES_FILE] [--set-json JSON]

Prints one JSON object: {"manifests": {template: yaml}, "crds": [yaml], "lint": report} or, when
Helm refuses the values, {"error": message}.
"""

import json
import sys

import helm_python as helm


def main(argv: list[str]) -> int:
    chart_path, release, namespace, *rest = argv
    overrides: dict = {}
    if "--set-json" in rest:
        at = rest.index("--set-json")
        overrides = json.loads(rest[at + 1])
        del rest[at : at + 2]
    values: dict = {}
    if rest:
        with open(rest[0], encoding="utf-8") as file:
            values = helm.values_from_yaml(file.read())
    values = deep_merge(values, overrides)
    try:
        with helm.Chart.load(chart_path) as chart:
            chart.validate_schema(chart.merge_values(values))
            manifests = chart.render(values, name=release, namespace=namespace, is_install=True)
            crds = [crd["data"] for crd in chart.crds]
    except helm.HelmError as error:
        print(json.dumps({"error": str(error)}))
        return 0
    lint = helm.lint(chart_path, values, strict=True, namespace=namespace)
    print(json.dumps({"manifests": manifests, "crds": crds, "lint": lint}))
    return 0


def deep_merge(base: dict, overrides: dict) -> dict:
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
