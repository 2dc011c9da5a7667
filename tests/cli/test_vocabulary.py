"""One flag vocabulary for every `python -m qnn_core.*` command: README's command lists match `--help`, the old
spellings are hidden from `--help` but still work (with a warning), and `--json` output is JSON."""

import contextlib
import importlib
import io
import json
import re

import pytest
from conftest import ROOT, draw_digit_one

from qnn_core import predict
from qnn_core.evaluation import ablation, evaluate, ood_calibration, photo_eval, report
from qnn_core.jobs import cli as jobs_cli
from qnn_core.sequence import eval as sequence_eval
from qnn_core.sequence import read, tune

# command (as README writes it after `python -m qnn_core.`) -> (module whose main() it runs, argv before --help)
COMMANDS = {
    "train": ("qnn_core.train", []),
    "evaluate": ("qnn_core.evaluate", []),
    "predict": ("qnn_core.predict", []),
    "read": ("qnn_core.read", []),
    "report": ("qnn_core.report", []),
    "photo_eval": ("qnn_core.photo_eval", []),
    "ood": ("qnn_core.ood", []),
    "ablation": ("qnn_core.ablation", []),
    "readout_curves": ("qnn_core.readout_curves", []),
    "sequence_eval": ("qnn_core.sequence_eval", []),
    "sequence_tune": ("qnn_core.sequence_tune", []),
    "jobs": ("qnn_core.jobs.cli", []),
    **{
        f"jobs {sub}": ("qnn_core.jobs.cli", [sub])
        for sub in ("submit", "list", "show", "cancel", "logs", "use", "revert")
    },
}
OLD_SPELLINGS = ("--no-quantum", "--test-limit", "--test-images", "--cards-only")
FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-z])(?![\w-])")


@pytest.fixture(scope="module")
def helps() -> dict[str, str]:
    """Each command's real `--help` text, from its main() in this process (argparse prints it and exits 0)."""
    out = {}
    for name, (module, argv) in COMMANDS.items():
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf), pytest.raises(SystemExit) as exit_:
            importlib.import_module(module).main([*argv, "--help"])
        assert exit_.value.code in (0, None), name
        out[name] = buf.getvalue()
    return out


def readme_commands() -> list[tuple[str, str]]:
    """(command, the rest of its line) for every `python -m qnn_core.X ...` in README: sh blocks (with their
    continuation lines, without comments) and inline code."""
    text = (ROOT / "README.md").read_text()
    found: list[list[str]] = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.splitlines():
            code = re.split(r"\s#\s", line, maxsplit=1)[0]
            if "python -m qnn_core." in code:
                found.append([code])
            elif found and line.startswith(" ") and code.strip():
                found[-1].append(code)
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    found += [[span] for span in re.findall(r"`([^`]*python -m qnn_core\.[^`]*)`", prose)]
    out = []
    for parts in found:
        m = re.search(r"python -m qnn_core\.(\w+)(.*)", " ".join(parts), re.S)
        name, rest = m.group(1), m.group(2)
        if name == "jobs":
            words = re.sub(r"--runs \S+", "", rest).split()
            sub = next((w for w in words if not w.startswith("-")), None)
            name = f"jobs {sub}" if sub else "jobs"
        out.append((name, rest))
    return out


def test_readme_lists_every_command():
    listed = {name for name, _ in readme_commands()}
    wanted = set(COMMANDS) - {"jobs", "jobs revert"}  # `revert TASK` is named in a comment
    assert wanted <= listed, wanted - listed


def test_every_flag_in_readme_exists_in_that_commands_help(helps):
    missing = []
    for name, rest in readme_commands():
        assert name in helps, f"README shows an unknown command: python -m qnn_core.{name}"
        for flag in FLAG.findall(rest):
            if not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", helps[name]):
                missing.append(f"{name} {flag}")
    assert not missing, f"README shows flags that --help does not: {missing}"


def test_readme_shows_no_old_spelling_in_its_commands():
    old = [(name, flag) for name, rest in readme_commands() for flag in FLAG.findall(rest) if flag in OLD_SPELLINGS]
    assert not old


def test_help_hides_the_old_spellings(helps):
    shown = [(name, old) for name, text in helps.items() for old in OLD_SPELLINGS if old in text]
    assert not shown, shown


@pytest.mark.parametrize(
    "name", ["train", "evaluate", "predict", "read", "photo_eval", "sequence_eval", "sequence_tune", "jobs submit"]
)
def test_every_command_that_loads_or_trains_a_model_says_which_with_model(helps, name):
    assert "--model {hybrid,classical" in helps[name]
    if name not in ("jobs submit", "train"):  # train writes a checkpoint (--out) and starts from one (--init)
        assert "--checkpoint" in helps[name]


@pytest.mark.parametrize("name", ["evaluate", "predict", "read", "photo_eval"])
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
        "photo_eval",
        "ood",
        "ablation",
        "sequence_eval",
        "sequence_tune",
        "jobs submit",
    ],
)
def test_every_command_that_runs_a_model_takes_device(helps, name):
    assert "--device auto|cpu|cuda|cuda:N|mps" in helps[name]
    # the commands that reproduce shipped numbers stay on the CPU unless told otherwise
    reproducing = name in ("evaluate", "report", "photo_eval", "ood", "ablation", "sequence_eval", "sequence_tune")
    assert ("(default cpu;" in " ".join(helps[name].split())) == reproducing


@pytest.mark.parametrize("name", ["evaluate", "ablation", "jobs submit"])
def test_limit(helps, name):
    assert "--limit" in helps[name]


# --- the old spellings still work, and warn ---------------------------------------------------------------------


def _warned(capsys, old: str, new: str) -> None:
    err = capsys.readouterr().err
    assert f"warning: {old} is deprecated" in err and new in err, err


@pytest.mark.parametrize(
    "parser,argv",
    [
        (evaluate.build_parser, ["--task", "mnist"]),
        (read.build_parser, ["--task", "mnist", "line.png"]),
        (photo_eval.build_parser, ["--task", "animals", "photos"]),
        (sequence_eval.build_parser, ["--task", "mnist"]),
        (tune.build_parser, ["--task", "mnist"]),
    ],
)
def test_no_quantum_means_the_classical_model(capsys, parser, argv):
    assert parser().parse_args(argv).model == "hybrid"
    a = parser().parse_args([*argv, "--no-quantum"])
    assert a.model == "classical"
    _warned(capsys, "--no-quantum", "--model classical")


def test_no_quantum_in_predict_means_the_branch_off(capsys):
    a = predict.build_parser().parse_args(["--task", "mnist", "x.png", "--no-quantum"])
    assert a.quantum == "off" and a.model == "hybrid"
    _warned(capsys, "--no-quantum", "--quantum off")


def test_ablation_test_limit(capsys):
    assert ablation.build_parser().parse_args(["--test-limit", "200"]).limit == 200
    _warned(capsys, "--test-limit", "--limit")


def test_jobs_submit_old_spellings(capsys):
    a = jobs_cli._parser().parse_args(["submit", "--task", "mnist", "--no-quantum", "--test-images", "50"])
    assert a.model == "classical" and a.limit == 50
    err = capsys.readouterr().err
    assert "--no-quantum is deprecated" in err and "--test-images is deprecated" in err
    params = jobs_cli._params(a)
    assert params.quantum is False and params.test_images == 50
    new = jobs_cli._params(
        jobs_cli._parser().parse_args(["submit", "--task", "mnist", "--model", "classical", "--limit", "50"])
    )
    assert new == params and capsys.readouterr().err == ""


def test_report_cards_only(capsys):
    assert report.build_parser().parse_args(["--cards-only"]).report_only is True
    _warned(capsys, "--cards-only", "--report-only")


@pytest.fixture
def no_sequence_work(monkeypatch):
    """sequence_eval with its measurement and its README writer replaced by records of the calls."""
    calls = []
    monkeypatch.setattr(sequence_eval, "write_readme", lambda: calls.append("readme"))
    monkeypatch.setattr(sequence_eval, "run", lambda *args, **kw: calls.append("run") or {"task": "mnist"})
    return calls


def test_sequence_eval_readme_alone_is_the_old_report_only(no_sequence_work, capsys):
    assert sequence_eval.main(["--readme"]) == 0
    assert no_sequence_work == ["readme"]
    _warned(capsys, "--readme without --task", "--report-only")


def test_sequence_eval_report_only_and_readme(no_sequence_work, capsys):
    assert sequence_eval.main(["--report-only"]) == 0
    assert no_sequence_work == ["readme"] and "deprecated" not in capsys.readouterr().err
    no_sequence_work.clear()
    assert sequence_eval.main(["--task", "mnist", "--n", "1", "--json", "--readme"]) == 0  # measure, then also rewrite
    assert no_sequence_work == ["run", "readme"]
    out = capsys.readouterr()
    assert json.loads(out.out) == {"task": "mnist"} and "deprecated" not in out.err


def test_predict_no_quantum_still_runs_and_warns_once(tmp_path, capsys):
    path = tmp_path / "one.png"
    draw_digit_one().save(path)
    runs = {}
    for flags in (["--no-quantum"], ["--quantum", "off"]):
        assert predict.main(["--task", "mnist", *flags, str(path)]) == 0
        out = capsys.readouterr()
        runs[flags[0]] = (json.loads(out.out), out.err.strip().splitlines())
    assert runs["--no-quantum"][0] == runs["--quantum"][0]
    assert runs["--no-quantum"][1] == ["warning: --no-quantum is deprecated and will be removed; use --quantum off"]
    assert runs["--quantum"][1] == []


# --- --json is JSON -------------------------------------------------------------------------------------------------


def test_ood_json_lines(monkeypatch, capsys):
    """`qnn ood --json` prints JSON lines (it printed Python reprs); nothing is measured or written here."""
    saved = []
    monkeypatch.setattr(ood_calibration, "save_checkpoint", lambda model, meta, path: saved.append(path))
    monkeypatch.setattr(ood_calibration, "calibrate", lambda task, device: {"animal_share_below": 0.25})
    monkeypatch.setattr(ood_calibration, "load_checkpoint", lambda path: (None, {"task": "animals"}))
    monkeypatch.setattr(
        ood_calibration, "served_unsure", lambda model, task, device: {"unsure_below": 0.5, "unsure_flags_wrong": None}
    )
    assert ood_calibration.main(["--task", "animals", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0] == {"task": "animals", "animal_share_below": 0.25}
    assert [line["unsure_below"] for line in lines[1:]] == [0.5] * len(saved) and len(saved) >= 1
    assert all(line["checkpoint"].endswith(".pt") for line in lines[1:])
