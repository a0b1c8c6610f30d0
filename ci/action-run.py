"""Runs a composite action's steps the way a GitHub runner does, as far as a test here can: for the
install tests (ci/install-test.sh), which have no runner.

    action-run.py ACTION.yml RUNNER_DIR [INPUT=VALUE ...]

Each `run:` step runs in `bash --noprofile --norc -eo pipefail` with its `env:`, GITHUB_PATH, GITHUB_ENV,
GITHUB_OUTPUT and RUNNER_TEMP as the runner sets them; `${{ }}` expressions are evaluated for the
contexts the action uses (inputs, runner, github, steps) and the functions always() and success(). A
`uses:` step is not run: it is printed with its inputs, or as skipped when its `if:` is false. Exits 1
when a step failed, as the job would.
"""

import os
import re
import subprocess
import sys

import yaml


def main() -> int:
    action_file, runner_dir, *given = sys.argv[1:]
    action = yaml.safe_load(open(action_file, encoding="utf-8"))
    assert action["runs"]["using"] == "composite", "not a composite action"
    inputs = {k: str(v.get("default", "")) for k, v in action.get("inputs", {}).items()}
    for item in given:
        key, value = item.split("=", 1)
        if key not in inputs:
            print(f"action-run: the action has no input {key!r}", file=sys.stderr)
            return 2
        inputs[key] = value
    temp = os.path.join(runner_dir, "temp")
    os.makedirs(temp, exist_ok=True)
    files = {
        name: os.path.join(runner_dir, name.lower()) for name in ("GITHUB_PATH", "GITHUB_ENV")
    }
    for path in files.values():
        open(path, "w").close()
    contexts = {
        "inputs": inputs,
        "runner": {"temp": temp, "os": "Linux"},
        "github": {
            "action_path": os.path.dirname(os.path.abspath(action_file)),
            # A local action (uses: ./) has none; install.sh then takes download-url or its default.
            "action_repository": "",
            "server_url": "https://github.com",
        },
        "steps": {},
    }
    failed = False

    def lookup(match: re.Match) -> str:
        value = contexts
        for part in match.group(0).split("."):
            value = value.get(part, "") if isinstance(value, dict) else ""
        return repr(value if isinstance(value, str) else "")

    def evaluate(text: str):
        text = re.sub(r"\b(inputs|runner|github|steps)(\.[\w-]+)+", lookup, text)
        text = text.replace("&&", " and ").replace("||", " or ")
        text = re.sub(r"!(?!=)", " not ", text)
        text = text.replace("always()", "True").replace("success()", repr(not failed))
        text = text.replace("failure()", repr(failed))
        return eval(text, {"__builtins__": {}}, {})  # noqa: S307 - our own action file, in a test

    def substitute(text: str) -> str:
        return re.sub(r"\$\{\{(.*?)\}\}", lambda m: str(evaluate(m.group(1))), str(text))

    for index, step in enumerate(action["runs"]["steps"]):
        name = step.get("name", f"step {index}")
        condition = step.get("if", "success()")
        condition = re.sub(r"^\s*\$\{\{(.*)\}\}\s*$", r"\1", str(condition))
        if not evaluate(condition):
            print(f"action-run: step {name!r}: skipped")
            continue
        if "uses" in step:
            with_ = {k: substitute(v) for k, v in step.get("with", {}).items()}
            print(f"action-run: step {name!r}: uses {step['uses']} with {with_} (not run here)")
            continue
        assert step.get("shell") == "bash", f"step {name!r}: a composite run step needs shell: bash"
        output = os.path.join(runner_dir, f"output-{index}")
        open(output, "w").close()
        env = dict(os.environ)
        for line in open(files["GITHUB_ENV"], encoding="utf-8").read().splitlines():
            if "=" in line:
                key, value = line.split("=", 1)
                env[key] = value
        extra = open(files["GITHUB_PATH"], encoding="utf-8").read().split()
        env["PATH"] = os.pathsep.join(list(reversed(extra)) + [env["PATH"]])
        env.update(files)
        env.update({"GITHUB_OUTPUT": output, "RUNNER_TEMP": temp, "GITHUB_ACTIONS": "true"})
        env.update({k: substitute(v) for k, v in step.get("env", {}).items()})
        script = os.path.join(runner_dir, f"step-{index}.sh")
        with open(script, "w", encoding="utf-8") as f:
            f.write(substitute(step["run"]))
        print(f"action-run: step {name!r}", flush=True)
        code = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", script], env=env).returncode
        outputs = dict(
            line.split("=", 1) for line in open(output, encoding="utf-8").read().splitlines() if "=" in line
        )
        if "id" in step:
            contexts["steps"][step["id"]] = {"outputs": outputs, "outcome": "success" if code == 0 else "failure"}
        if code != 0:
            print(f"action-run: step {name!r} exited {code}")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
