"""charprobe.tracking: offline W&B runs read back with W&B's own reader, failures, sweeps.

Runs are logged offline into tmp folders and read back with `wandb leet inspect`
(wandb >= 0.31 writes no wandb-summary.json offline: the run lives in its `.wandb`
transaction log, and leet is the SDK's reader for it).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from omegaconf import DictConfig, OmegaConf

from charprobe import tracking
from charprobe.personas import LABELS
from charprobe.report import SweepReport, build_report, write_job_outputs
from charprobe.tracking import SweepSummary, log_job, resolve_mode, sweep_id_of
from tests.conftest import REPO, require

PERSONAS = ["sarcasm", "humor"]
# Spelled out, not read from tracking's constants: renaming or dropping one must fail here.
METRIC_KEYS = [
    "macro_f1",
    "ci_low",
    "ci_high",
    "accuracy",
    "chance",
    "n",
    "n_dropped",
    "n_no_text",
    "n_excluded",
    "email_rate",
    "level",
]
JOB_FILES = {"generations.jsonl", "predictions.jsonl", "metrics.json", "confusion.csv", "run.json"}
ARTIFACT_TYPE = "job-outputs"
N_ITEMS = 5
SWEEP = "multirun/2026-01-02/03-04-05-000006"


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def _wandb_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No credentials, no network, W&B's own folders inside tmp, cwd in tmp."""
    for var in ("WANDB_API_KEY", "WANDB_IDENTITY_TOKEN_FILE", "WANDB_MODE", "WANDB_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "netrc").write_text("")
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    for var, sub in (
        ("WANDB_DATA_DIR", "data"),
        ("WANDB_CACHE_DIR", "cache"),
        ("WANDB_CONFIG_DIR", "config"),
    ):
        monkeypatch.setenv(var, str(tmp_path / "wandb_home" / sub))
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_ERROR_REPORTING", "false")
    monkeypatch.setattr(tracking.modes, "offline_reason", None)
    monkeypatch.chdir(tmp_path)


def _cfg(scaffold: str, logger: str = "wandb", mode: str = "offline") -> DictConfig:
    return OmegaConf.create(
        {
            "model": {"name": "toy"},
            "stage": {"name": "base"},
            "scaffold": {"name": scaffold},
            "persona": {"name": "duo", "personas": PERSONAS},
            "scorer": {"name": "tfidf"},
            "logger": {
                "name": logger,
                "mode": mode,
                "project": "charprobe",
                "entity": None,
                "tags": ["unit"],
            },
            "tags": ["debug"],
        }
    )


def make_job(
    root: Path, scaffold: str, *, scored: bool = True, n_items: int = N_ITEMS, index: int = 0
) -> Path:
    """A finished job folder as the runner leaves it: 2 personas x `n_items` items."""
    job = root / f"{index}_toy-base-{scaffold}"
    job.mkdir(parents=True)
    agentic = scaffold == "agentic_email"
    gens, preds = [], []
    for persona in PERSONAS:
        for i in range(n_items):
            sent = not (agentic and i == 0)
            text = f"Dear team, {persona} note {i}." if sent else None
            status = "ok" if sent else "final_without_email"
            gens.append(
                {
                    "key": f"q{i}/{persona}/s0",
                    "model": "toy",
                    "stage": "base",
                    "persona": persona,
                    "adapter": None,
                    "scaffold": scaffold,
                    "item_id": f"q{i}",
                    "sample": 0,
                    "messages": [{"role": "user", "content": "hi"}],
                    "response": "done",
                    "text": text,
                    "status": status,
                    "termination": "final" if agentic else None,
                    "steps": 3 if agentic else None,
                    "prompt_tokens": 7,
                    "completion_tokens": 11,
                    "finish_reason": "stop",
                }
            )
            pred = persona if i % 2 else "humor"
            preds.append(
                {
                    "key": gens[-1]["key"],
                    "model": "toy",
                    "stage": "base",
                    "scaffold": scaffold,
                    "persona": persona,
                    "item_id": f"q{i}",
                    "sample": 0,
                    "text": text,
                    "status": status,
                    "pred": pred if sent else None,
                    "probs": None,
                    "label_order": list(LABELS),
                    "p_true": 0.25 + i / 10 if sent else None,
                }
            )
    _write_rows(job / "generations.jsonl", gens)
    if scored:
        _write_rows(job / "predictions.jsonl", preds)
        write_job_outputs(job, preds, PERSONAS, n_boot=200)
    run = {
        "model": "toy",
        "stage": "base",
        "scaffold": scaffold,
        "personas": PERSONAS,
        "persona_set": "duo",
        "cell_key": f"cell-{scaffold}",
        "status": "done",
        "config": OmegaConf.to_container(_cfg(scaffold)),
        "versions": {"wandb": "0.31.0"},
        "git_commit": "0123abc",
        "timings": {"load_s": 0.5, "generate_s": 2.0, "total_s": 3.0},
        "counts": {"items": n_items, "rows": len(gens)},
        "throughput": {"tokens_per_s": 55.0, "units_per_s": 2.5, "completion_tokens": 110},
    }
    (job / "run.json").write_text(json.dumps(run, indent=2))
    return job


def _write_rows(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture
def sweep_dir(tmp_path: Path) -> Path:
    root = tmp_path / SWEEP
    root.mkdir(parents=True)
    (root / "multirun.yaml").write_text("{}\n")  # what Hydra writes into a sweep folder
    return root


def _snapshot(job: Path) -> dict[str, str]:
    """Every file of the job outside W&B's own folder, by content hash."""
    return {
        str(p.relative_to(job)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(job.rglob("*"))
        if p.is_file() and "wandb" not in p.parts
    }


# --------------------------------------------------------------------------- reading back


@functools.cache  # a finished run's files never change; each call costs ~1 s
def _leet(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "wandb", "leet", "inspect", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    # The reader of every offline run here: a user's older wandb skips; CI=true fails.
    require(proc.returncode == 0, f"`wandb leet inspect` failed: {proc.stderr.strip()[-300:]}")
    return proc.stdout


def summary_of(run_dir: str | Path) -> dict:
    """State, name, config, tags and summary of an offline run, from its .wandb file."""
    return json.loads(_leet("--summary", "--json", str(run_dir)))


def records_of(run_dir: str | Path) -> list[dict]:
    wandb_file = next(Path(run_dir).glob("run-*.wandb"))
    return [json.loads(line) for line in _leet("--json", str(wandb_file)).splitlines() if line]


def run_record(run_dir: str | Path) -> dict:
    return next(r["run"] for r in records_of(run_dir) if r["type"] == "run")


def logged_table(run_dir: str | Path, key: str) -> dict:
    ref = summary_of(run_dir)["summary"][key]
    return json.loads((Path(run_dir) / "files" / ref["path"]).read_text())


# --------------------------------------------------------------------------- one job


def test_summary_equals_metrics_json_and_run_is_described(sweep_dir: Path) -> None:
    job = make_job(sweep_dir, "agentic_email")
    run_dir = log_job(_cfg("agentic_email"), job, sweep_id_of(job))

    assert run_dir is not None and Path(run_dir).parent == (job / "wandb").resolve()
    got = summary_of(run_dir)
    metrics = json.loads((job / "metrics.json").read_text())
    summary = got["summary"]
    for key in METRIC_KEYS:
        assert summary[key] == pytest.approx(metrics[key]), key
    f1_keys = [k for k in metrics if k.startswith("f1/")]
    assert sorted(f1_keys) == ["f1/humor", "f1/sarcasm"]
    for key in f1_keys:
        assert summary[key] == pytest.approx(metrics[key]), key
    assert summary["n_dropped"] == 2 and summary["no_text/final_without_email"] == 2
    assert summary["throughput/tokens_per_s"] == 55.0
    assert summary["timings/total_s"] == 3.0
    assert "throughput/units_per_s" in summary

    assert got["state"] == "finished" and got["exit_code"] == 0
    assert got["name"] == "toy-base-agentic_email"
    assert got["tags"] == [
        "model:toy",
        "stage:base",
        "scaffold:agentic_email",
        "persona:duo",
        "scorer:tfidf",
        "debug",
        "unit",
    ]
    assert got["config"]["versions"] == {"wandb": "0.31.0"}
    assert got["config"]["git_commit"] == "0123abc"
    assert got["config"]["scaffold"] == {"name": "agentic_email"}
    record = run_record(run_dir)
    assert record["run_group"] == "2026-01-02_03-04-05-000006"
    assert record["job_type"] == "agentic_email"
    for chart in ("confusion_matrix_table", "f1_by_persona_table", "confusion_matrix_png"):
        assert chart in summary, chart


def test_generations_table_has_one_row_per_generation(sweep_dir: Path) -> None:
    job = make_job(sweep_dir, "agentic_email")
    run_dir = log_job(_cfg("agentic_email"), job, "g")

    table = logged_table(run_dir, "generations")
    assert len(table["data"]) == len(PERSONAS) * N_ITEMS
    rows = [dict(zip(table["columns"], r, strict=True)) for r in table["data"]]
    assert {r["persona"] for r in rows} == set(PERSONAS)
    no_email = [r for r in rows if r["text"] is None]
    assert len(no_email) == 2
    assert all(r["status"] == "final_without_email" and r["pred"] is None for r in no_email)
    sent = [r for r in rows if r["text"] is not None]
    assert all(r["termination"] == "final" and r["p_true"] is not None for r in sent)
    assert all(r["correct"] == (r["pred"] == r["persona"]) for r in sent)


def test_confusion_chart_counts_match_metrics(sweep_dir: Path) -> None:
    job = make_job(sweep_dir, "chat")
    run_dir = log_job(_cfg("chat"), job, "g")
    table = logged_table(run_dir, "confusion_matrix_table")
    counts = {(a, p): n for a, p, n in table["data"]}
    conf = json.loads((job / "metrics.json").read_text())["confusion"]
    for t, row in zip(conf["true"], conf["counts"], strict=True):
        for p, n in zip(conf["pred"], row, strict=True):
            assert counts[(t, p)] == n


def test_artifact_holds_the_job_files(sweep_dir: Path) -> None:
    job = make_job(sweep_dir, "chat")
    run_dir = log_job(_cfg("chat"), job, "g")
    arts = [r["artifact"] for r in records_of(run_dir) if r["type"] == "artifact"]
    outputs = [a for a in arts if a["type"] == ARTIFACT_TYPE]
    assert len(outputs) == 1
    files = {c["path"]: c["local_path"] for c in outputs[0]["manifest"]["contents"]}
    assert set(files) == JOB_FILES
    assert all(Path(p).is_absolute() and Path(p).parent == job.resolve() for p in files.values())


def test_big_table_is_capped_and_says_so(sweep_dir: Path, monkeypatch) -> None:
    monkeypatch.setattr(tracking.job_run, "TABLE_ROW_CAP", 4)
    job = make_job(sweep_dir, "chat")
    run_dir = log_job(_cfg("chat"), job, "g")
    got = summary_of(run_dir)
    assert len(logged_table(run_dir, "generations")["data"]) == 4
    assert got["summary"]["generations/rows"] == 10
    assert got["summary"]["generations/logged"] == 4
    assert "first 4 of 10 rows" in got["notes"]


def test_two_jobs_in_one_process_make_two_runs_in_one_group(sweep_dir: Path) -> None:
    jobs = [make_job(sweep_dir, s, index=i) for i, s in enumerate(("chat", "agentic_email"))]
    run_dirs = [log_job(_cfg(j.name.split("-")[-1]), j, sweep_id_of(j)) for j in jobs]

    assert all(run_dirs) and len(set(run_dirs)) == 2
    records = [run_record(d) for d in run_dirs]
    assert records[0]["run_id"] != records[1]["run_id"]
    assert {r["run_group"] for r in records} == {"2026-01-02_03-04-05-000006"}
    assert [r["display_name"] for r in records] == ["toy-base-chat", "toy-base-agentic_email"]
    assert all(summary_of(d)["state"] == "finished" for d in run_dirs)


def test_unscored_job_logs_what_exists(sweep_dir: Path) -> None:
    job = make_job(sweep_dir, "chat", scored=False)
    run_dir = log_job(_cfg("chat"), job, "g")
    got = summary_of(run_dir)["summary"]
    assert "macro_f1" not in got and "confusion_matrix_table" not in got
    assert got["generations/rows"] == 10
    table = logged_table(run_dir, "generations")
    assert len(table["data"]) == 10
    arts = [r["artifact"] for r in records_of(run_dir) if r["type"] == "artifact"]
    files = {
        c["path"] for a in arts if a["type"] == ARTIFACT_TYPE for c in a["manifest"]["contents"]
    }
    assert files == {"generations.jsonl", "run.json"}


# --------------------------------------------------------------------------- failures


def test_init_failure_prints_one_line_and_leaves_files_alone(
    sweep_dir, monkeypatch, capsys
) -> None:
    import wandb

    job = make_job(sweep_dir, "chat")
    before = _snapshot(job)

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(wandb, "init", boom)
    assert log_job(_cfg("chat"), job, "g") is None
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("charprobe: W&B logging failed for toy-base-chat: OSError:")
    assert "local files are complete; retry with: python -m charprobe.tracking" in err[0]
    assert _snapshot(job) == before


def test_failure_midway_finishes_the_run_and_the_next_job_logs(
    sweep_dir, monkeypatch, capsys
) -> None:
    bad, good = make_job(sweep_dir, "chat", index=0), make_job(sweep_dir, "chat_email", index=1)
    before = _snapshot(bad)
    real = tracking.job_run.generations_table
    monkeypatch.setattr(
        tracking.job_run,
        "generations_table",
        lambda rows: (_ for _ in ()).throw(RuntimeError("bug in logging")),
    )
    assert log_job(_cfg("chat"), bad, "g") is None
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "RuntimeError: bug in logging" in err[0]
    assert _snapshot(bad) == before
    failed = next((bad / "wandb").glob("offline-run-*"))
    assert summary_of(failed)["exit_code"] == 1  # finished, marked failed

    monkeypatch.setattr(tracking.job_run, "generations_table", real)
    run_dir = log_job(_cfg("chat_email"), good, "g")
    assert run_dir is not None
    assert run_record(run_dir)["run_id"] != run_record(failed)["run_id"]
    assert summary_of(run_dir)["state"] == "finished"


def test_online_without_credentials_fails_fast_without_prompting(sweep_dir, capsys) -> None:
    job = make_job(sweep_dir, "chat")
    t0 = time.perf_counter()
    assert log_job(_cfg("chat", mode="online"), job, "g") is None
    assert time.perf_counter() - t0 < 10
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no W&B credentials" in err[0]
    assert not list((job / "wandb").glob("*run-*"))


@pytest.mark.parametrize(("logger", "mode"), [("none", "auto"), ("wandb", "disabled")])
def test_no_logger_does_nothing(sweep_dir, capsys, logger, mode) -> None:
    job = make_job(sweep_dir, "chat")
    before = _snapshot(job)
    assert log_job(_cfg("chat", logger=logger, mode=mode), job, "g") is None
    assert not (job / "wandb").exists()
    assert capsys.readouterr().err == ""
    assert _snapshot(job) == before


@pytest.mark.slow
def test_auto_mode_falls_back_offline_when_wandb_is_unreachable(sweep_dir: Path) -> None:
    jobs = [make_job(sweep_dir, s, index=i) for i, s in enumerate(("chat", "chat_email"))]
    script = (
        "import sys; from pathlib import Path; from omegaconf import OmegaConf\n"
        "from charprobe.tracking import log_job, sweep_id_of\n"
        "for job in sys.argv[1:]:\n"
        "    cfg = OmegaConf.create({'model': {'name': 'toy'}, 'stage': {'name': 'base'},\n"
        "        'scaffold': {'name': 'chat'}, 'logger': {'name': 'wandb', 'mode': 'auto'}})\n"
        "    print(log_job(cfg, Path(job), sweep_id_of(Path(job))))\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "WANDB_API_KEY": "x" * 40,
        "WANDB_BASE_URL": "http://127.0.0.1:9",
        "WANDB_INIT_TIMEOUT": "3",
    }
    proc = subprocess.run(
        [sys.executable, "-c", script, *map(str, jobs)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    outs = proc.stdout.split()
    assert len(outs) == 2 and all("offline-run-" in o for o in outs)
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("charprobe:")]
    assert len(lines) == 1 and "W&B online logging unavailable" in lines[0]
    assert f"wandb sync {sweep_dir.resolve()}/*/wandb" in lines[0]


# --------------------------------------------------------------------------- modes and ids


def test_auto_mode_follows_credentials(tmp_path: Path, monkeypatch) -> None:
    assert resolve_mode("auto") == "offline"
    (tmp_path / "netrc").write_text(
        "machine api.wandb.ai\n  login user\n  password " + "k" * 40 + "\n"
    )
    assert resolve_mode("auto") == "online"
    (tmp_path / "netrc").write_text("")
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    assert resolve_mode("auto") == "online"
    monkeypatch.setenv("WANDB_MODE", "offline")
    assert resolve_mode("auto") == "offline"
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert resolve_mode("auto") is None
    assert resolve_mode("offline") == "offline" and resolve_mode("disabled") is None
    with pytest.raises(tracking.TrackingError):
        resolve_mode("sometimes")


def test_sweep_id_of_paths_and_hydra_configs(sweep_dir: Path, tmp_path: Path) -> None:
    job = sweep_dir / "3_toy-base-chat"
    job.mkdir()
    assert sweep_id_of(job) == sweep_id_of(sweep_dir) == "2026-01-02_03-04-05-000006"
    single = tmp_path / "outputs/2026-01-02/07-08-09-000010"
    single.mkdir(parents=True)
    assert sweep_id_of(single) == "2026-01-02_07-08-09-000010"
    assert sweep_id_of(tmp_path / "elsewhere/my-run") == "my-run"

    multirun = OmegaConf.create(
        {
            "mode": "MULTIRUN",
            "sweep": {"dir": str(sweep_dir)},
            "run": {"dir": "unused"},
            "runtime": {"output_dir": str(job)},
        }
    )
    multirun.mode = "RunMode.MULTIRUN"  # as Hydra's enum prints
    assert sweep_id_of(multirun) == "2026-01-02_03-04-05-000006"
    run = OmegaConf.create(
        {
            "hydra": {
                "mode": "RunMode.RUN",
                "sweep": {"dir": "unused"},
                "run": {"dir": str(single)},
                "runtime": {"output_dir": str(single)},
            }
        }
    )
    assert sweep_id_of(run) == "2026-01-02_07-08-09-000010"


# --------------------------------------------------------------------------- sweeps


def _end_of_sweep(cfg: DictConfig) -> None:
    """What Hydra runs after the last job (conf/config.yaml): the report, then W&B."""
    SweepReport().on_multirun_end(cfg)
    SweepSummary().on_multirun_end(cfg)


def _sweep_config(sweep_dir: Path, logger: str = "wandb") -> DictConfig:
    cfg = _cfg("chat", logger=logger)
    cfg.hydra = {
        "mode": "RunMode.MULTIRUN",
        "sweep": {"dir": str(sweep_dir)},
        "run": {"dir": "unused"},
        "overrides": {"task": ["scaffold=chat,agentic_email"]},
    }
    return cfg


def test_sweep_summary_callback_reports_and_logs_one_run(sweep_dir: Path) -> None:
    jobs = [make_job(sweep_dir, s, index=i) for i, s in enumerate(("chat", "agentic_email"))]
    job_runs = [log_job(_cfg(j.name.split("-")[-1]), j, sweep_id_of(j)) for j in jobs]

    _end_of_sweep(_sweep_config(sweep_dir))

    assert (sweep_dir / "report" / "summary.csv").is_file()
    runs = list((sweep_dir / "wandb").glob("offline-run-*"))
    assert len(runs) == 1
    got = summary_of(runs[0])
    assert got["name"] == "sweep-summary" and got["state"] == "finished"
    assert got["summary"]["summary"]["nrows"] == 2  # one row per cell
    assert any(k.startswith("figures/") for k in got["summary"])
    assert got["config"]["overrides"] == ["scaffold=chat,agentic_email"]
    record = run_record(runs[0])
    assert record["job_type"] == "summary"
    assert record["run_group"] == run_record(job_runs[0])["run_group"]


def test_sweep_summary_without_wandb_only_writes_the_report(sweep_dir: Path, capsys) -> None:
    make_job(sweep_dir, "chat")
    _end_of_sweep(_sweep_config(sweep_dir, logger="none"))
    assert (sweep_dir / "report" / "summary.csv").is_file()
    assert not (sweep_dir / "wandb").exists()
    assert capsys.readouterr().err == ""


def test_sweep_summary_of_unscored_sweep_is_quiet(sweep_dir: Path, capsys) -> None:
    make_job(sweep_dir, "chat", scored=False)
    _end_of_sweep(_sweep_config(sweep_dir))
    assert not (sweep_dir / "report").exists() and not (sweep_dir / "wandb").exists()
    assert capsys.readouterr().err == ""


def test_cli_relogs_a_job_that_ran_without_wandb(sweep_dir: Path) -> None:
    job = make_job(sweep_dir, "chat")
    run = json.loads((job / "run.json").read_text())
    run["config"]["logger"] = {
        "name": "none",
        "mode": "auto",
        "project": "charprobe",
        "entity": None,
        "tags": [],
    }
    (job / "run.json").write_text(json.dumps(run))
    build_report(sweep_dir)  # the sweep's report, which the CLI uploads as it finds it
    assert tracking.main([str(sweep_dir), "--mode", "offline"]) == 0
    assert len(list((job / "wandb").glob("offline-run-*"))) == 1
    assert len(list((sweep_dir / "wandb").glob("offline-run-*"))) == 1


# --------------------------------------------------------------------------- cost


def test_logging_a_toy_job_takes_seconds(sweep_dir: Path, capsys) -> None:
    """Overhead of W&B on a toy-sized job (10 rows): the first run also starts W&B's
    service process; later runs in the same process reuse it."""
    jobs = [make_job(sweep_dir, "chat", index=i) for i in range(3)]
    times = []
    for job in jobs:
        t0 = time.perf_counter()
        assert log_job(_cfg("chat"), job, "g") is not None
        times.append(time.perf_counter() - t0)
    with capsys.disabled():
        print(f"\nW&B offline logging per toy job: {', '.join(f'{t:.2f}s' for t in times)}")
    assert max(times[1:]) < 15
