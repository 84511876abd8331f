"""Identity, not location: the same weights in another folder give the same rows and numbers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from charprobe import identity
from charprobe.store import read_rows
from tests.conftest import TINY_PERSONAS, run_charprobe


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=False)
    return dst


def test_fingerprint_follows_content_not_folder(tiny_hub, tmp_path):
    a = tiny_hub / "base"
    b = _copy(a, tmp_path / "elsewhere" / "renamed")
    assert identity.model_identity(str(a)) == identity.model_identity(str(b))
    # Files that do not decide outputs do not count ...
    (b / "README.md").write_text("notes")
    (b / "training_report.json").write_text('{"seconds": 3}')
    assert identity.model_identity(str(a)) == identity.model_identity(str(b))
    # ... but one changed byte of the weights does.
    weights = b / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    assert identity.model_identity(str(a)) != identity.model_identity(str(b))
    # Each adapter is its own subfolder's content; a hub id is id + revision, offline.
    ids = {identity.adapter_identity(str(tiny_hub / "adapters-a"), p) for p in TINY_PERSONAS}
    assert len(ids) == len(TINY_PERSONAS)
    # peft writes target_modules from a set: their order in the file is not identity.
    other = _copy(tiny_hub / "adapters-a" / TINY_PERSONAS[0], tmp_path / "reordered")
    data = json.loads((other / "adapter_config.json").read_text())
    data["target_modules"] = list(reversed(data["target_modules"]))
    (other / "adapter_config.json").write_text(json.dumps(data))
    assert identity.folder_fingerprint(other) == identity.folder_fingerprint(
        tiny_hub / "adapters-a" / TINY_PERSONAS[0]
    )
    data["r"] = 2
    (other / "adapter_config.json").write_text(json.dumps(data))
    assert identity.folder_fingerprint(other) != identity.folder_fingerprint(
        tiny_hub / "adapters-a" / TINY_PERSONAS[0]
    )
    assert identity.model_identity("org/model", "abc") == "hf:org/model@abc"
    assert identity.adapter_identity("org/repo", "humor") == "hf:org/repo/humor@main"


def test_item_digest_ignores_the_file_a_scenario_came_from(tmp_path):
    from charprobe.scaffolds.scenarios import SHIPPED_DIR, load_scenario

    src = sorted(SHIPPED_DIR.glob("*.yaml"))[0]
    copy = tmp_path / "x" / src.name
    copy.parent.mkdir()
    copy.write_bytes(src.read_bytes())
    one, two = load_scenario(src), load_scenario(copy)
    assert one.path != two.path and identity.digest(one) == identity.digest(two)
    two.initial_messages[-1]["content"] += " Please hurry."
    assert identity.digest(one) != identity.digest(two)


def _cell_args(root: Path, prompts: Path) -> list[str]:
    return [
        "model=llama",
        f"model.path={root / 'base'}",
        "model.name=tiny",
        "stage=full",
        f"stage.repo={root / 'adapters-a'}",
        f"persona.personas=[{','.join(TINY_PERSONAS)}]",
        "scaffold=chat",
        f"scaffold.prompts={prompts}",
        "generation.max_new_tokens=8",
        "scorer=none",
        "logger=none",
    ]


def test_same_weights_in_two_folders_give_byte_identical_rows(tiny_hub, tmp_path):
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(
        "".join(json.dumps({"id": f"q{i}", "prompt": f"hello {i} world"}) + "\n" for i in range(4))
    )
    other = _copy(tiny_hub, tmp_path / "copy" / "of" / "hub")
    outs = []
    for i, root in enumerate((tiny_hub, other)):
        run_charprobe(tmp_path, *_cell_args(root, prompts), f"hydra.run.dir=out{i}")
        outs.append((tmp_path / f"out{i}" / "generations.jsonl").read_bytes())
    assert outs[0] == outs[1]
    rows = read_rows(tmp_path / "out0" / "generations.jsonl")
    assert len(rows) == 4 * len(TINY_PERSONAS)
    assert str(tiny_hub) not in outs[0].decode() and str(other) not in outs[1].decode()
    # Not trivially equal: the personas' adapters wrote different texts.
    assert len({r["response"] for r in rows if r["item_id"] == "q0"}) == len(TINY_PERSONAS)
    # Another adapter under the same folder names is another identity: other keys, texts.
    swapped = _copy(tiny_hub, tmp_path / "swapped")
    shutil.rmtree(swapped / "adapters-a")
    shutil.copytree(tiny_hub / "adapters-b", swapped / "adapters-a")
    run_charprobe(tmp_path, *_cell_args(swapped, prompts), "hydra.run.dir=out-swapped")
    keys = {r["key"] for r in read_rows(tmp_path / "out-swapped" / "generations.jsonl")}
    assert not keys & {r["key"] for r in rows}


def test_rows_of_the_old_key_scheme_are_refused_not_duplicated(tiny_hub, tmp_path):
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(json.dumps({"id": "q0", "prompt": "hello"}) + "\n")
    job = tmp_path / "job"
    job.mkdir()
    old = {
        "key": "q0/sarcasm/s0/0123456789",
        "persona": "sarcasm",
        "item_id": "q0",
        "sample": 0,
        "text": "old text",
        "response": "old text",
    }
    (job / "generations.jsonl").write_text(json.dumps(old) + "\n")
    before = (job / "generations.jsonl").read_bytes()
    p = run_charprobe(tmp_path, *_cell_args(tiny_hub, prompts), f"hydra.run.dir={job}", check=False)
    assert p.returncode == 2, p.stderr[-2000:]
    err = [line for line in p.stderr.splitlines() if line.startswith("charprobe: error:")]
    assert len(err) == 1 and "1 rows were written by an earlier charprobe" in err[0]
    assert "aside" in err[0] and "Traceback" not in p.stderr
    assert (job / "generations.jsonl").read_bytes() == before


def test_a_toy_world_of_other_versions_is_another_world(tmp_path, monkeypatch):
    """The versions that build a toy world are part of its folder's name: under another
    transformers (or torch, or CPU) the world is built anew, never the old one reused."""
    from importlib import metadata

    from charprobe.toy import PACKAGES, RECIPE_VERSION, platform_identity, world_path

    here = world_path(tmp_path)
    assert here.parent == tmp_path and here.name.startswith(f"{RECIPE_VERSION}-")
    assert set(PACKAGES) <= set(platform_identity()) and platform_identity()["torch"]
    real = metadata.version
    for package in ("transformers", "torch", "tokenizers"):
        monkeypatch.setattr(
            metadata, "version", lambda n, p=package: "0.0.1" if n == p else real(n)
        )
        assert world_path(tmp_path) != here, package
    monkeypatch.setattr(metadata, "version", real)
    assert world_path(tmp_path) == here


@pytest.mark.slow
def test_same_toy_cell_from_two_world_roots_is_identical(toy_world, tmp_path):
    """A second toy world built from scratch under another root, one family first and the
    others later, has the same identities as one built at once (weights are built
    deterministically on one platform; only the folders differ), and
    the same cell run from each root (its classifier trained there) gives byte-identical
    generations, predictions and metrics.

    The cached world was built on this platform: its folder is named after the versions
    and the CPU (a cache from another machine, whose kernels round differently, sits in
    another folder and is never read here)."""
    from charprobe.toy import MANIFEST, built_families, ensure_world, platform_identity
    from charprobe.toy.build import FAMILIES, TRUNK, adapter_dir, repo_dirs

    root_a, root_b = tmp_path / "root-a", tmp_path / "elsewhere" / "root-b"
    # Built in two calls, as the demo leaves it and a later run completes it: toy_llama
    # alone first (no manifest yet, the Llama trunk kept for qwen), then the rest.
    built = ensure_world(root_b, families=("llama",))
    assert built_families(built) == {"llama"} and not (built / MANIFEST).exists()
    assert (built / "toy-llama-base").is_dir() and not (built / "toy-qwen-base").exists()
    assert ensure_world(root_b) == built and built_families(built) == set(FAMILIES)
    assert not (built / TRUNK).exists()
    assert json.loads((built / MANIFEST).read_text())["builds"] == [["llama"], ["qwen", "gemma"]]
    assert json.loads((toy_world / MANIFEST).read_text())["platform"] == platform_identity()
    assert built.name == toy_world.name
    reference = toy_world
    _copy(reference, root_a / reference.name)
    shutil.rmtree(root_a / reference.name / "classifiers", ignore_errors=True)
    for fam in FAMILIES:
        base = repo_dirs(fam)["base"]
        assert identity.model_identity(str(reference / base)) == identity.model_identity(
            str(built / base)
        ), fam
        for stage, persona in (("distillation", "humor"), ("full", "misalignment")):
            one, two = (adapter_dir(w, fam, stage, persona) for w in (reference, built))
            assert identity.folder_fingerprint(one) == identity.folder_fingerprint(two)
    files = {}
    for i, root in enumerate((root_a, root_b)):
        run_charprobe(
            tmp_path,
            "model=toy_llama",
            "stage=full",
            "scaffold=chat",
            "scaffold.items=6",
            "scorer=tfidf",
            "scorer.train_items=8",
            "generation.max_new_tokens=48",
            "generation.batch_size=256",
            "logger=none",
            "stats.n_boot=200",
            f"hydra.run.dir=out{i}",
            env={"CHARPROBE_TOY_DIR": str(root)},
        )
        files[i] = {
            f: (tmp_path / f"out{i}" / f).read_bytes()
            for f in ("generations.jsonl", "predictions.jsonl", "metrics.json")
        }
    assert files[0] == files[1]
    metrics = json.loads(files[0]["metrics.json"])
    assert metrics["n"] == 6 * 10 and metrics["scorer"]["id"].startswith("sha256:")
