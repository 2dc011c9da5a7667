"""One command, `qnn`, and one flag vocabulary: `qnn --help` lists every subcommand, the docs' command lines
match each subcommand's `--help`, the training flags come from the settings' one declaration (shared with the
job parameters), the removed spellings get argparse's usual error, and `--json` output is JSON."""

import contextlib
import io
import json
import re
import subprocess
import sys
from dataclasses import fields

import pytest
from helpers import ROOT, draw_digit_one

from qnn_core import cli
from qnn_core.jobs import cli as jobs_cli
from qnn_core.jobs.params import JobParams
from qnn_core.sequence import eval as sequence_eval
from qnn_core.settings import TrainConfig, default_of, flag_name, flag_of, flagged_fields

JOBS_SUBCOMMANDS = ("submit", "list", "show", "cancel", "logs", "use", "revert")
# command as the docs write it after `qnn ` -> argv before --help
COMMANDS = {name: [name] for name in cli.COMMANDS} | {f"jobs {sub}": ["jobs", sub] for sub in JOBS_SUBCOMMANDS}
REMOVED = ("--no-quantum", "--test-limit", "--test-images", "--cards-only")
FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-z])(?![\w-])")
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def help_of(argv: list[str]) -> str:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), pytest.raises(SystemExit) as exit_:
        cli.main([*argv, "--help"])
    assert exit_.value.code in (0, None), argv
    return buf.getvalue()


@pytest.fixture(scope="module")
def helps() -> dict[str, str]:
    """Each subcommand's real `--help` text, through the `qnn` dispatcher in this process."""
    return {name: help_of(argv) for name, argv in COMMANDS.items()}


def doc_commands() -> list[tuple[str, str]]:
    """(command, the rest of its line) for every `qnn X ...` in README and docs/: sh blocks (with their
    continuation lines, without comments) and inline code."""
    out = []
    for path in DOCS:
        text = path.read_text()
        found: list[list[str]] = []
        for block in re.findall(r"```sh\n(.*?)```", text, re.S):
            for line in block.splitlines():
                code = re.split(r"\s#\s", line, maxsplit=1)[0]
                if re.search(r"(^|[\s/])qnn \w", code):
                    found.append([code])
                elif found and line.startswith(" ") and code.strip():
                    found[-1].append(code)
        prose = re.sub(r"```.*?```", "", text, flags=re.S)
        found += [[span] for span in re.findall(r"`((?:[^`]*[\s/])?qnn [a-z][^`]*)`", prose)]
        for parts in found:
            m = re.search(r"(?:^|[\s/])qnn ([a-z][\w-]*)(.*)", " ".join(parts), re.S)
            name, rest = m.group(1), m.group(2)
            if name == "jobs":
                rest = re.sub(r"--(runs|backend|ray-address) \S+", "", rest)  # the options of `qnn jobs` itself
                words = rest.split()
                sub = next((w for w in words if not w.startswith("-")), None)
                name = f"jobs {sub}" if sub else "jobs"
            out.append((name, rest))
    return out


def test_qnn_help_lists_every_subcommand_one_line_each():
    r = subprocess.run([sys.executable, "-m", "qnn_core", "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    listed = [line.split()[0] for line in r.stdout.splitlines() if line.startswith("  ")]
    assert listed == list(cli.COMMANDS)
    expected = "train evaluate predict read report ood ablation curves sequence-eval sequence-tune photo-eval jobs"
    assert set(expected.split()) <= set(listed)


def test_an_unknown_subcommand_is_a_one_line_usage_error():
    r = subprocess.run([sys.executable, "-m", "qnn_core", "trian"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "unknown command 'trian'" in r.stderr


def test_the_console_script_is_declared():
    text = (ROOT / "pyproject.toml").read_text()
    assert 'qnn = "qnn_core.cli:main"' in text


def test_docs_list_every_command():
    listed = {name for name, _ in doc_commands()}
    wanted = set(COMMANDS) - {"jobs"}
    assert wanted <= listed, wanted - listed


def test_every_flag_in_the_docs_exists_in_that_commands_help(helps):
    missing = []
    for name, rest in doc_commands():
        assert name in helps, f"the docs show an unknown command: qnn {name}"
        for flag in FLAG.findall(rest):
            if not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", helps[name]):
                missing.append(f"{name} {flag}")
    assert not missing, f"the docs show flags that --help does not: {missing}"


def test_no_doc_cites_the_old_module_commands():
    old = [p.name for p in DOCS if re.search(r"python -m qnn_core\.\w", p.read_text())]
    cards = [p.name for p in (ROOT / "checkpoints").glob("*.md") if "python -m qnn_core." in p.read_text()]
    assert not old and not cards, old + cards


# argv that each command needs before an unknown flag is reached
REQUIRED = {
    "train": ["--task", "mnist"],
    "evaluate": ["--task", "mnist"],
    "predict": ["--task", "mnist", "x.png"],
    "read": ["--task", "mnist", "x.png"],
    "report": [],
    "ablation": [],
    "jobs submit": ["--task", "mnist"],
}


@pytest.mark.parametrize("name", list(REQUIRED))
@pytest.mark.parametrize("flag", REMOVED)
def test_the_removed_spellings_are_gone(capsys, name, flag):
    with pytest.raises(SystemExit) as exit_:
        cli.main([*COMMANDS[name], *REQUIRED[name], flag])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and f"unrecognized arguments: {flag}" in err, err
    assert "deprecated" not in err


def test_help_shows_no_removed_spelling(helps):
    shown = [(name, old) for name, text in helps.items() for old in REMOVED if old in text]
    assert not shown, shown


# --- the training settings, declared once -------------------------------------------------------------------


def test_train_flags_come_from_the_settings_declaration(helps):
    text = " ".join(helps["train"].split())
    for f in flagged_fields():
        assert flag_name(f) in text, f.name
        assert flag_of(f).help.split(" (")[0] in text, f.name
        default = default_of(f)
        if default is not None and not isinstance(default, bool):
            said = f"{default:g}" if isinstance(default, float) else str(default)
            assert f"(default {said})" in text, f.name


def test_job_parameters_use_the_trainers_names_and_flags(helps):
    train_fields = {f.name: f for f in fields(TrainConfig)}
    text = " ".join(helps["jobs submit"].split())
    for f in flagged_fields(JobParams):
        assert f.name in train_fields, f"{f.name} is not a TrainConfig field"
        assert flag_name(f) == flag_name(train_fields[f.name])
        assert flag_name(f) in text
    d = JobParams()
    assert "(default 32)" in text and d.batch_size == 32  # a job's own default, in the help it generates
    assert {"n_qubits", "q_depth", "limit"} <= {f.name for f in fields(JobParams)}


def test_jobs_submit_builds_the_parameters():
    a = jobs_cli._parser().parse_args(["submit", "--task", "mnist", "--model", "classical", "--limit", "500"])
    params = jobs_cli._params(a)
    assert params.quantum is False and params.limit == 500 and params.n_qubits == 8 and params.subset == 3000
    a = jobs_cli._parser().parse_args(["submit", "--task", "mnist", "--subset", "0", "--qubits", "6"])
    params = jobs_cli._params(a).validate()
    assert params.subset is None and params.n_qubits == 6
    assert params.train_config().n_qubits == 6


def test_settings_and_job_parameters_import_without_torch():
    code = "import sys, qnn_core.settings, qnn_core.jobs.params, qnn_core.jobs.cli; print('torch' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "False", r.stderr


# --- the rest of the vocabulary -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["train", "evaluate", "predict", "read", "photo-eval", "sequence-eval", "sequence-tune", "jobs submit"]
)
def test_every_command_that_loads_or_trains_a_model_says_which_with_model(helps, name):
    assert "--model {hybrid,classical" in helps[name]
    if name not in ("jobs submit", "train"):  # train writes a checkpoint (--out) and starts from one (--init)
        assert "--checkpoint" in helps[name]


@pytest.mark.parametrize("name", ["evaluate", "predict", "read", "photo-eval"])
def test_quantum_off_at_inference(helps, name):
    assert "--quantum {on,off}" in helps[name]


@pytest.mark.parametrize(
    "name",
    [
        "train",
        "evaluate",
        "predict",
        "read",
        "report",
        "photo-eval",
        "ood",
        "ablation",
        "sequence-eval",
        "sequence-tune",
        "jobs submit",
    ],
)
def test_every_command_that_runs_a_model_takes_device(helps, name):
    assert "--device auto|cpu|cuda|cuda:N|mps" in helps[name]
    # the commands that reproduce shipped numbers stay on the CPU unless told otherwise
    reproducing = name in ("evaluate", "report", "photo-eval", "ood", "ablation", "sequence-eval", "sequence-tune")
    assert ("(default cpu;" in " ".join(helps[name].split())) == reproducing


@pytest.mark.parametrize("name", ["evaluate", "ablation", "jobs submit"])
def test_limit(helps, name):
    assert "--limit" in helps[name]


@pytest.fixture
def no_sequence_work(monkeypatch):
    """sequence_eval with its measurement and its docs writer replaced by records of the calls."""
    calls = []
    monkeypatch.setattr(sequence_eval, "write_readme", lambda: calls.append("readme"))
    monkeypatch.setattr(sequence_eval, "run", lambda *args, **kw: calls.append("run") or {"task": "mnist"})
    return calls


def test_sequence_eval_readme_alone_is_a_usage_error(no_sequence_work, capsys):
    with pytest.raises(SystemExit) as exit_:
        sequence_eval.main(["--readme"])
    assert exit_.value.code == 2 and no_sequence_work == []
    assert "--report-only" in capsys.readouterr().err


def test_sequence_eval_report_only_and_readme(no_sequence_work, capsys):
    assert sequence_eval.main(["--report-only"]) == 0
    assert no_sequence_work == ["readme"]
    no_sequence_work.clear()
    assert sequence_eval.main(["--task", "mnist", "--n", "1", "--json", "--readme"]) == 0  # measure, then also rewrite
    assert no_sequence_work == ["run", "readme"]
    assert json.loads(capsys.readouterr().out) == {"task": "mnist"}


def test_predict_quantum_off_runs(tmp_path, capsys):
    path = tmp_path / "one.png"
    draw_digit_one().save(path)
    assert cli.main(["predict", "--task", "mnist", "--quantum", "off", str(path)]) == 0
    out = capsys.readouterr()
    line = json.loads(out.out)
    assert line["label"] == "1" and out.err == ""
