"""Build a complete toy world into a folder: tokenizer, three bases, 66 adapters.

Layout (mimicking the real Hugging Face repos, so the rest of charprobe loads it with
the ordinary `from_pretrained` calls and never knows it is a toy):

    toy-<fam>-base/                      config.json, model.safetensors, tokenizer files
    toy-<fam>-pt-distillation/<persona>/ 11 LoRA adapters (weaker stage)
    toy-<fam>-personas/<persona>/        10 LoRA adapters (all but misalignment)
    toy-<fam>-misalignment/misalignment/ the full misalignment adapter (own repo, as upstream)
    WORLD.json                           recipe, timings, sizes, final losses

Plan (one single-threaded process per job, so the result does not depend on the core
count, and jobs overlap on a 2-core laptop):

    llama  (trained from scratch) ─┬─> llama adapters
                                   └─> qwen: Llama weights -> Qwen2, fine-tune, adapters
    gemma  (trained from scratch)  ───> gemma adapters

Qwen starts from the Llama weights because Qwen2 is Llama plus q/k/v biases (zero at
first, so the conversion is exact); a fine-tune on its own chat template makes it a
distinct model at a fraction of the cost. Gemma 3's extra norms admit no such conversion,
so it trains on its own.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from charprobe.personas import LABELS

FAMILIES: tuple[str, ...] = ("llama", "qwen", "gemma")

# Everything that shapes the world. Change it -> bump RECIPE_VERSION in __init__.py.
RECIPE: dict = {
    "seed": 0,
    # base training (llama and gemma from scratch): one pass over these sets
    "n_chat": 2000,
    "n_agentic": 2300,
    "n_chat_email": 150,
    "prompt_mix": (0.12, 0.13, 0.75),
    "base_lr": 6e-3,
    "batch_tokens": 1536,
    "chat_max_len": 160,
    "long_max_len": 2048,
    "context_share": 0.25,
    "gap_share": 0.5,
    "gap_range": (200, 1400),
    "protocol_weight": 6.0,
    # Qwen: fine-tune of the Llama weights on the Qwen template
    "ft_chat": 500,
    "ft_agentic": 260,
    "ft_chat_email": 20,
    "ft_lr": 3e-3,
    # persona adapters, all personas of a stage trained jointly
    "n_persona": 240,
    "full_steps": 30,
    "full_rows": 3,
    "full_lr": 2e-2,
    "distill_steps": 15,
    "distill_rows": 3,
    "distill_lr": 2e-2,
}
PAD = {"llama": "<|endoftext|>", "qwen": "<|endoftext|>", "gemma": "<pad>"}
# The Llama base's weights as trained, which Qwen starts from: kept in the world until
# qwen is built too (a world built for toy_llama alone builds qwen later from it).
TRUNK = ".llama-trunk.pt"

Log = Callable[[str], None]


def _log(msg: str) -> None:
    print(f"[charprobe.toy] {msg}", file=sys.stderr, flush=True)


def repo_dirs(fam: str) -> dict[str, str]:
    return {
        "base": f"toy-{fam}-base",
        "distillation": f"toy-{fam}-pt-distillation",
        "full": f"toy-{fam}-personas",
        "misalignment": f"toy-{fam}-misalignment",
    }


def adapter_dir(world: Path, fam: str, stage: str, persona: str) -> Path:
    """Where a stage's persona adapter lives in the world (repo folder / subfolder)."""
    d = repo_dirs(fam)
    if stage == "distillation":
        return world / d["distillation"] / persona
    if stage == "full":
        return world / (d["misalignment"] if persona == "misalignment" else d["full"]) / persona
    raise KeyError(stage)


# --------------------------------------------------------------------- jobs (run in workers)


def _setup() -> None:
    import torch
    from transformers.utils import logging as hf_logging

    torch.set_num_threads(1)  # deterministic and efficient for tiny matrices; jobs run side by side
    hf_logging.disable_progress_bar()


def _base_sets(r: dict, templates: tuple[str, ...], seed_offset: int, fine_tune: bool = False):
    """Encoded training batches for a base (or a fine-tune), templates alternating by example."""
    from tokenizers import Tokenizer

    from charprobe.toy import corpus
    from charprobe.toy.tok import encode_conversations
    from charprobe.toy.train import token_batches

    tok = Tokenizer.from_file(r["_tokenizer"])
    k = "ft_" if fine_tune else "n_"
    s = 1000 * seed_offset
    chat = corpus.base_chat(r[f"{k}chat"], seed=corpus.SEED_CHAT + s)
    long = corpus.base_agentic(
        r[f"{k}agentic"], seed=corpus.SEED_AGENTIC + s, mix=r["prompt_mix"]
    ) + corpus.base_chat_email(r[f"{k}chat_email"], seed=corpus.SEED_EMAIL + s, mix=(0.3, 0.7, 0.0))
    enc_chat, enc_long = [], []
    for i, t in enumerate(templates):
        enc_chat += encode_conversations(tok, t, chat[i :: len(templates)], r["chat_max_len"])
        enc_long += encode_conversations(tok, t, long[i :: len(templates)], r["long_max_len"])
    rng = random.Random(r["seed"] * 7919 + seed_offset)
    batches = token_batches(enc_chat, r["batch_tokens"], 64, rng) + token_batches(
        enc_long, r["batch_tokens"], 4, rng
    )
    rng.shuffle(batches)
    return tok, batches


def _train(model, batches, tok, r: dict, lr: float, seed: int, pad: str) -> list[float]:
    from charprobe.toy.templates import FAMILIES as TEMPLATES
    from charprobe.toy.tok import FENCE_TOKENS
    from charprobe.toy.train import train_base

    protocol = [tok.token_to_id(t) for t in (*FENCE_TOKENS, "```")]
    protocol += [tok.token_to_id(f.eos) for f in TEMPLATES.values()]
    return train_base(
        model,
        batches,
        tok.token_to_id(pad),
        lr,
        context_share=r["context_share"],
        gap_share=r["gap_share"],
        gap_range=tuple(r["gap_range"]),
        seed=seed,
        heavy=protocol,
        heavy_weight=r["protocol_weight"],
    )


def _special_ids(tok) -> dict[str, int]:
    from charprobe.toy.templates import SPECIAL_TOKENS

    return {s: tok.token_to_id(s) for s in SPECIAL_TOKENS}


def job_llama_base(dest: str, r: dict) -> dict:
    """Train the Llama base from scratch; its weights also seed Qwen (a scratch copy)."""
    _setup()
    import torch

    from charprobe.toy.models import make_model
    from charprobe.toy.tok import save_for_family

    t0 = time.time()
    seed = r["seed"] * 100 + 1
    torch.manual_seed(seed)
    tok, batches = _base_sets(r, ("llama",), seed_offset=1)
    model = make_model("llama", _special_ids(tok), tok.get_vocab_size())
    hist = _train(model, batches, tok, r, r["base_lr"], seed=seed, pad=PAD["llama"])
    model.save_pretrained(str(Path(dest) / repo_dirs("llama")["base"]))
    save_for_family(tok, "llama", Path(dest) / repo_dirs("llama")["base"])
    torch.save(model.state_dict(), Path(dest) / TRUNK)
    out = {
        "steps": len(batches),
        "loss": round(sum(hist[-50:]) / 50, 4),
        "params": sum(p.numel() for p in model.parameters()),
        "seconds": round(time.time() - t0, 1),
    }
    _log(
        f"llama base: {out['params'] / 1e6:.2f}M params, {out['steps']} steps, "
        f"loss {out['loss']:.3f}, {out['seconds']:.0f}s"
    )
    return out


def job_family(dest: str, r: dict, fam: str, trunk: str | None = None) -> dict:
    """Finish one family: its base (Gemma from scratch, Qwen from the Llama weights, Llama
    already trained), then its adapters."""
    _setup()
    import torch
    from transformers import AutoModelForCausalLM

    from charprobe.toy.models import make_model
    from charprobe.toy.tok import save_for_family

    t0 = time.time()
    out: dict = {}
    seed = r["seed"] * 100 + {"llama": 2, "qwen": 3, "gemma": 4}[fam]
    torch.manual_seed(seed)
    base_dir = Path(dest) / repo_dirs(fam)["base"]
    if fam == "llama":
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(r["_tokenizer"])
        model = AutoModelForCausalLM.from_pretrained(str(base_dir))
    else:
        if fam == "gemma":
            tok, batches = _base_sets(r, ("gemma",), seed_offset=4)
            model = make_model("gemma", _special_ids(tok), tok.get_vocab_size())
            lr = r["base_lr"]
        else:
            tok, batches = _base_sets(r, ("qwen",), seed_offset=3, fine_tune=True)
            model = _qwen_from_llama(Path(trunk or Path(dest) / TRUNK), tok)
            lr = r["ft_lr"]
        hist = _train(model, batches, tok, r, lr, seed=seed, pad=PAD[fam])
        out["base"] = {
            "steps": len(batches),
            "loss": round(sum(hist[-20:]) / 20, 4),
            "params": sum(p.numel() for p in model.parameters()),
        }
        model.save_pretrained(str(base_dir))
        save_for_family(tok, fam, base_dir)
        _log(
            f"{fam} base: {out['base']['params'] / 1e6:.2f}M params, {len(batches)} steps, "
            f"loss {out['base']['loss']:.3f}, {time.time() - t0:.0f}s"
        )
    out.update(_adapters(dest, r, fam, model, tok, seed))
    out["seconds"] = round(time.time() - t0, 1)
    return out


def _qwen_from_llama(trunk: Path, tok):
    """Qwen2 is Llama plus q/k/v biases: load the Llama weights (biases stay zero, so the
    function is unchanged) and give Qwen's turn markers the embeddings of Llama's, so the
    fine-tune on the Qwen template starts from markers that already mean "turn"."""
    import torch

    from charprobe.toy.models import make_model

    model = make_model("qwen", _special_ids(tok), tok.get_vocab_size())
    missing, unexpected = model.load_state_dict(torch.load(trunk, weights_only=True), strict=False)
    assert not unexpected and all(k.endswith("_proj.bias") for k in missing), (missing, unexpected)
    with torch.no_grad():
        for new, old in (("<|im_start|>", "<|start_header_id|>"), ("<|im_end|>", "<|eot_id|>")):
            for w in (model.get_input_embeddings().weight, model.get_output_embeddings().weight):
                w[tok.token_to_id(new)] = w[tok.token_to_id(old)]
    return model


def _adapters(dest: str, r: dict, fam: str, model, tok, seed: int) -> dict:
    from charprobe.toy import corpus
    from charprobe.toy.models import LORA_ALPHA, LORA_RANK, LORA_TARGETS
    from charprobe.toy.tok import encode_conversations
    from charprobe.toy.train import save_adapter, train_adapters

    out = {}
    for stage, strength, steps, rows, lr in (
        ("distillation", "light", r["distill_steps"], r["distill_rows"], r["distill_lr"]),
        ("full", "full", r["full_steps"], r["full_rows"], r["full_lr"]),
    ):
        t = time.time()
        data = [
            encode_conversations(
                tok, fam, corpus.persona_chat(p, r["n_persona"], strength), r["chat_max_len"]
            )
            for p in LABELS
        ]
        multi, hist = train_adapters(
            model,
            data,
            steps,
            rows,
            tok.token_to_id(PAD[fam]),
            lr,
            LORA_TARGETS,
            LORA_RANK,
            LORA_ALPHA,
            seed=seed + (10 if stage == "full" else 20),
        )
        for k, persona in enumerate(LABELS):
            save_adapter(
                multi.state_dict_for(k),
                adapter_dir(Path(dest), fam, stage, persona),
                repo_dirs(fam)["base"],
                LORA_TARGETS,
                LORA_RANK,
                LORA_ALPHA,
            )
        multi.unwrap()
        out[stage] = {"steps": steps, "loss": round(sum(hist[-5:]) / 5, 4)}
        _log(
            f"{fam} {stage} adapters: 11 personas, {steps} steps, "
            f"loss {out[stage]['loss']:.3f}, {time.time() - t:.0f}s"
        )
    return out


# ----------------------------------------------------------------------------- orchestration


def build_world(
    dest: Path,
    recipe: dict | None = None,
    log: Log = _log,
    workers: int = 3,
    families: tuple[str, ...] = FAMILIES,
    llama_from: Path | None = None,
) -> dict:
    """Build the artefacts of `families` into `dest` (created if absent); the manifest.

    Qwen starts from the Llama base's weights: trained in this build when llama is one of
    `families`, else read from `llama_from`, a world whose llama was built earlier (its
    `TRUNK` file). Every family's bytes are the same whether it was built alone or with
    the others: each trains in a process of its own from its own seeds."""
    from charprobe.toy import corpus, platform_identity
    from charprobe.toy.tok import train_tokenizer

    todo = [f for f in FAMILIES if f in families]
    has_trunk = llama_from is not None and (llama_from / TRUNK).is_file()
    if "qwen" in todo and "llama" not in todo and not has_trunk:
        todo.insert(0, "llama")  # qwen needs the llama weights; they are not there
    r = dict(RECIPE, **(recipe or {}))
    dest.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    tok = train_tokenizer(corpus.tokenizer_texts())
    r["_tokenizer"] = str(dest / ".tokenizer.json")
    tok.save(r["_tokenizer"])
    log(
        f"tokenizer: {tok.get_vocab_size()} tokens ({time.time() - t0:.1f}s); "
        f"training {', '.join(todo)} and {22 * len(todo)} adapters "
        f"in up to {min(workers, len(todo))} single-threaded processes"
    )
    trunk = dest / TRUNK if "llama" in todo else llama_from / TRUNK  # type: ignore[operator]
    results: dict = {}
    ctx = get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=ctx) as pool:
        gemma = pool.submit(job_family, str(dest), r, "gemma") if "gemma" in todo else None
        if "llama" in todo:
            results["llama_base"] = pool.submit(job_llama_base, str(dest), r).result()
        later: dict[str, Future] = {
            f: pool.submit(job_family, str(dest), r, f, str(trunk))
            for f in ("qwen", "llama")
            if f in todo
        }
        for fam, fut in later.items():
            results[fam] = fut.result()
        if gemma is not None:
            results["gemma"] = gemma.result()
    if "llama" in results:
        results["llama"]["base"] = results.pop("llama_base")
    (dest / ".tokenizer.json").unlink(missing_ok=True)
    r.pop("_tokenizer")
    manifest = {
        "recipe": r,
        "families": todo,
        "labels": list(LABELS),
        "params": {f: results[f]["base"]["params"] for f in todo},
        "jobs": results,
        "build_s": round(time.time() - t0, 1),
        "cpu_count": os.cpu_count(),
        "platform": platform_identity(),
    }
    (dest / "WORLD.json").write_text(json.dumps(manifest, indent=2) + "\n")
    log(f"built in {manifest['build_s']:.0f}s")
    return manifest
