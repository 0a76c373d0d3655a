"""Round trip through a real Label Studio: a project from `review export`'s config and tasks, annotations, its export.

    python -m venv /tmp/ls && /tmp/ls/bin/pip install label-studio        # not a dependency of the project
    .venv/bin/policy-tagger review export REPORTS --out /tmp/tasks.json --limit 8
    .venv/bin/python scripts/check_label_studio.py /tmp/tasks.json --label-studio /tmp/ls/bin/label-studio --out EXPORT.json
    .venv/bin/policy-tagger review import EXPORT.json --out corrections.jsonl

Starts Label Studio (its own SQLite data folder in a temporary directory), creates a project with the labeling config,
imports the tasks through its API (Label Studio validates both: a config it cannot parse, or a task whose
pre-annotation does not fit the config, is refused), then annotates through the API as a reviewer would in the
browser: task 1 accepts the pre-annotation, task 2 changes it, task 3 is skipped (a cancelled annotation), task 4 is
cancelled once and then submitted, task 5 says "no theme", task 6 stays unannotated.  Writes the project's JSON
export: the file `review import` reads (tests/fixtures/label_studio_export.json is one such export).
The labels posted here are arbitrary test values, not gold: they only exercise the format.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

TOKEN = "policy-tagger-check-token-0123456789ab"


def call(base: str, method: str, path: str, body=None):
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Authorization": f"Token {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        raw = r.read()
    return json.loads(raw) if raw else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tasks", type=Path)
    parser.add_argument("--config", type=Path, default=None, help="labeling config (default: TASKS.config.xml beside the tasks)")
    parser.add_argument("--label-studio", default="label-studio", help="the label-studio executable")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    config = (args.config or args.tasks.with_name(args.tasks.stem + ".config.xml")).read_text(encoding="utf-8")
    tasks = json.loads(args.tasks.read_text(encoding="utf-8"))
    if len(tasks) < 6:
        raise SystemExit("need at least 6 tasks (export with --limit 6 or more)")
    port, data_dir = free_port(), tempfile.mkdtemp(prefix="label-studio-")
    env = {**os.environ, "LABEL_STUDIO_BASE_DATA_DIR": data_dir}
    server = subprocess.Popen([args.label_studio, "start", "--no-browser", "--port", str(port), "--data-dir", data_dir,
                               "--username", "reviewer@example.org", "--password", "check-password-1",
                               "--user-token", TOKEN, "--enable-legacy-api-token"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(base + "/health", timeout=5)
                break
            except OSError:
                time.sleep(1)
        else:
            raise SystemExit("Label Studio did not start")
        version = call(base, "GET", "/api/version")
        project = call(base, "POST", "/api/projects", {"title": "policy-tagger review check", "label_config": config})
        pid = project["id"]
        imported = call(base, "POST", f"/api/projects/{pid}/import", tasks)
        print(f"label-studio {version.get('release') or version.get('label-studio-os-package', {}).get('version')}: project {pid}, "
              f"import: {imported.get('task_count')} tasks, {imported.get('prediction_count')} predictions")
        ids = sorted(t["id"] for t in call(base, "GET", f"/api/tasks?project={pid}&page_size=1000")["tasks"])

        def annotate(task_id: int, choices: list[str] | None, cancelled: bool = False):
            result = [] if choices is None else [{"from_name": "themes", "to_name": "text", "type": "choices", "value": {"choices": choices}}]
            return call(base, "POST", f"/api/tasks/{task_id}/annotations", {"result": result, "was_cancelled": cancelled})

        pre = [t["predictions"][0]["result"][0]["value"]["choices"] for t in tasks]
        annotate(ids[0], pre[0])                                        # accepts the pre-annotation
        annotate(ids[1], [c for c in ("elderly", "leadership") if c not in pre[1]] or ["dibao"])   # changes it
        annotate(ids[2], None, cancelled=True)                          # skipped
        annotate(ids[3], None, cancelled=True)                          # cancelled, then submitted
        time.sleep(1.1)
        annotate(ids[3], ["affairs"])
        annotate(ids[4], ["none"])                                      # no theme
        export = call(base, "GET", f"/api/projects/{pid}/export?exportType=JSON&download_all_tasks=true")
        args.out.write_text(json.dumps(export, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"export: {len(export)} tasks, {sum(len(t.get('annotations', [])) for t in export)} annotations -> {args.out}")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
