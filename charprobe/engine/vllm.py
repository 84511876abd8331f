"""The vLLM engine: continuous batching, persona adapters as LoRA requests.

One `AsyncLLM` per base per process, reused by the later jobs of a multirun (as the HF
engine keeps its base), with LoRA enabled so every stage of the base runs on it. It lives
on an event loop of its own in a background thread, so both ways of asking work:
- `generate` (chat, chat email) hands vLLM every request at once and reports each
  completion the moment it finishes, not per batch;
- `complete` (agentic rollouts) sends one turn; vLLM's scheduler adds it to the running
  batch at once, so no rollout waits for another's turn.

Conversations are rendered and tokenized with the model's own HF tokenizer and sent as
token ids, and completions are decoded the same way as the HF engine's, so at
temperature 0 in float32 the two engines give the same tokens. Each request samples
with its own seed (`row_seed` of its key), so a row's text does not depend on what else
is in flight, and a resumed job regenerates nothing differently.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from charprobe.config import ModelConfig, StageConfig
from charprobe.engine import hub, prompt
from charprobe.engine.cache import EngineCache
from charprobe.engine.devices import auto_dtype
from charprobe.engine.lora import adapter_folder, check_target_modules, lora_rank
from charprobe.engine.sampling import row_seed
from charprobe.engine.types import Completion, GenerationParams, Message, Request
from charprobe.errors import UserError

log = logging.getLogger(__name__)

PROBE_TOP = 20  # top log-probabilities compared by the adapter check
_ids = itertools.count()


def _import_vllm() -> Any:
    from charprobe.engine import VLLM_INSTALL

    # vLLM logs every step of its start-up at INFO; charprobe says what it loads itself.
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    try:
        import vllm
    except ImportError as e:  # installed for another torch, or the CUDA torchvision beside it
        raise UserError(f"engine=vllm: vLLM cannot be imported ({e}); {VLLM_INSTALL}") from None
    return vllm


def _gpu() -> bool:
    import torch

    return torch.cuda.is_available()


@dataclass
class _Runtime:
    """One AsyncLLM and the event loop (in its own thread) that it runs on."""

    key: tuple
    max_loras: int
    max_lora_rank: int
    engine_args: dict[str, Any]
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    llm: Any = None
    tokenizer: Any = None
    generation_config: Any = None
    lora_ids: dict[str, int] = field(default_factory=dict)  # adapter folder -> LoRA int id
    llm_loras: set[int] = field(default_factory=set)  # ids the current stage may have loaded

    def start(self) -> None:
        from transformers import AutoTokenizer, GenerationConfig

        vllm = _import_vllm()
        threading.Thread(target=self.loop.run_forever, name="charprobe-vllm", daemon=True).start()
        args = vllm.AsyncEngineArgs(**self.engine_args)
        self.llm = self.call(_start(args))
        path, revision = self.engine_args["model"], self.engine_args.get("revision")
        self.tokenizer = AutoTokenizer.from_pretrained(path, revision=revision)
        try:
            self.generation_config = GenerationConfig.from_pretrained(path, revision=revision)
        except OSError:  # no generation_config.json: the tokenizer's eos alone
            self.generation_config = None

    def submit(self, coro: Any) -> Future:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call(self, coro: Any) -> Any:
        return self.submit(coro).result()

    def close(self) -> None:
        if self.llm is not None:
            self.llm.shutdown()
            self.llm = None
        self.loop.call_soon_threadsafe(self.loop.stop)


async def _start(args: Any) -> Any:
    from vllm.v1.engine.async_llm import AsyncLLM

    return AsyncLLM.from_engine_args(args)


def _runtime(
    model: ModelConfig, options: dict[str, Any], n_adapters: int, rank: int, cache: EngineCache
) -> _Runtime:
    """The cached AsyncLLM for this base, or a new one (in the cache's place) when there is
    none or it cannot serve `n_adapters` adapters of rank `rank`."""
    dtype = auto_dtype(options.pop("dtype", "auto"), _gpu(), model.dtype)
    key = (model.path, model.revision, str(dtype), tuple(sorted(options.items())))
    # vLLM CPU gives rows without an adapter, in a batch that has some, the adapter in the
    # last LoRA slot (vllm-project/vllm#48421, #49656): one slot more than adapters keeps
    # that slot empty.
    max_loras = n_adapters + 1
    if options.get("max_lora_rank"):
        rank = max(rank, int(options.pop("max_lora_rank")))
    else:
        options.pop("max_lora_rank", None)
    cur = cache.current
    if (
        isinstance(cur, _Runtime)
        and cur.key == key
        and cur.max_loras >= max_loras
        and cur.max_lora_rank >= rank
    ):
        return cur
    if cur is not None:
        log.info(
            "vLLM: restarting for %s (%d adapters of rank <= %d)", model.path, n_adapters, rank
        )
    cache.drop()
    args = {
        "model": model.path,
        "tokenizer": model.path,
        "dtype": str(dtype),
        "seed": 0,
        "enable_lora": True,
        "max_loras": max_loras,
        "max_lora_rank": rank,
        **{k: v for k, v in options.items() if v is not None},
    }
    if model.revision:
        args["revision"] = model.revision
    if not _gpu():
        # vLLM CPU rewinds a seeded request's generator after each partial prefill
        # step, which only CUDA generators can do ("CPU Generator does not use offset"):
        # every prompt is prefilled in one step instead.
        args.setdefault("enable_chunked_prefill", False)
        # vLLM CPU's own default KV cache takes most of the machine's memory (22 GB of 24
        # measured); 1 GiB holds hundreds of the toy's rollouts. VLLM_CPU_KVCACHE_SPACE
        # (GiB) or engine.kv_cache_memory_bytes overrides it.
        if "VLLM_CPU_KVCACHE_SPACE" not in os.environ:
            args.setdefault("kv_cache_memory_bytes", 2**30)
        args.setdefault(
            "max_num_batched_tokens", args.get("max_model_len") or _max_positions(model) or 8192
        )
    log.info(
        "loading base %s with vLLM (%s, LoRA slots %d, rank %d)", model.path, dtype, max_loras, rank
    )
    rt = _Runtime(key=key, max_loras=max_loras, max_lora_rank=rank, engine_args=args)
    rt.start()
    return cache.hold(rt)


def _max_positions(model: ModelConfig) -> int | None:
    config = Path(model.path).expanduser() / "config.json"
    if not config.is_file():
        return None
    return json.loads(config.read_text()).get("max_position_embeddings")


class VLLMEngine:
    """An `Engine` over one base model and the adapters of one stage, run by vLLM.

    Options (`conf/engine/vllm.yaml`): dtype, gpu_memory_utilization, max_model_len,
    tensor_parallel_size, enforce_eager, max_lora_rank, max_num_seqs,
    kv_cache_memory_bytes; each goes to vLLM's engine arguments under its own name.
    """

    def __init__(
        self,
        model: ModelConfig,
        stage: StageConfig,
        personas: Sequence[str],
        cache: EngineCache | None = None,
        **options: Any,
    ) -> None:
        self.model_cfg = model
        self._cache = cache if cache is not None else EngineCache()
        self.stage = stage
        hub.preflight(model, stage, personas)
        folders = {p: adapter_folder(stage, p) for p in personas} if stage.repo else {}
        check_target_modules(model, folders, stage.name)
        # LoRA slots for the whole persona set even at the base stage (no adapters), so the
        # base's later stages run on the same engine.
        self._rt = _runtime(
            model, dict(options), len(personas), lora_rank(list(folders.values())), self._cache
        )
        self._loras = {}
        for persona, folder in folders.items():
            from vllm.lora.request import LoRARequest

            lora_id = self._rt.lora_ids.setdefault(str(folder), len(self._rt.lora_ids) + 1)
            self._loras[persona] = LoRARequest(f"{stage.name}-{persona}", lora_id, str(folder))
        # Drop the earlier stage's adapters first: vLLM CPU, loading a new adapter into a
        # slot it evicts one from, was seen serving that adapter as the bare base (the
        # adapter check below caught it); into free slots it loads correctly.
        keep = {r.lora_int_id for r in self._loras.values()}
        for lora_id in sorted(self._rt.llm_loras - keep):
            self._rt.call(self._rt.llm.remove_lora(lora_id))
        self._rt.llm_loras = keep
        self._stop = prompt.eos_ids(self.tokenizer, self._rt.generation_config)
        if self._loras:
            self._check_adapters()

    @property
    def tokenizer(self) -> Any:
        return self._rt.tokenizer

    def _engine_died(self, e: BaseException) -> None:
        """vLLM's engine process is gone: drop it, so the next job starts a new one."""
        if type(e).__name__ == "EngineDeadError":
            self._cache.drop()

    def render(self, messages: Sequence[Message]) -> str:
        return prompt.render(self.tokenizer, messages, self.model_cfg.system_role)

    def _lora(self, persona: str | None) -> Any:
        if persona is None:
            return None
        try:
            return self._loras[persona]
        except KeyError:
            raise ValueError(f"no adapter loaded for persona '{persona}'") from None

    def _sampling(self, request: Request, params: GenerationParams, **extra: Any) -> Any:
        from vllm import SamplingParams
        from vllm.sampling_params import RequestOutputKind

        greedy = params.temperature <= 0
        return SamplingParams(
            temperature=0.0 if greedy else params.temperature,
            top_p=1.0 if greedy else params.top_p,
            seed=row_seed(params.seed, request.key),
            max_tokens=min(request.max_new_tokens or params.max_new_tokens, params.max_new_tokens),
            ignore_eos=params.ignore_eos,
            stop_token_ids=None if params.ignore_eos else sorted(self._stop),
            detokenize=False,  # decoded below with the HF tokenizer, as the HF engine does
            output_kind=RequestOutputKind.FINAL_ONLY,
            **extra,
        )

    async def _run(self, request: Request, ids: list[int], sp: Any) -> Any:
        from vllm.inputs import TokensPrompt

        final = None
        async for out in self._rt.llm.generate(
            TokensPrompt(prompt_token_ids=ids),
            sp,
            f"{request.key}#{next(_ids)}",
            lora_request=self._lora(request.adapter),
        ):
            final = out
        return final.outputs[0]

    async def _complete(
        self, request: Request, ids: list[int], params: GenerationParams
    ) -> Completion:
        sp = self._sampling(request, params)
        out = await self._run(request, ids, sp)
        stop = set() if params.ignore_eos else self._stop
        kept, stopped = prompt.cut(list(out.token_ids), stop, sp.max_tokens)
        return Completion(
            key=request.key,
            text=self.tokenizer.decode(kept, skip_special_tokens=True).strip(),
            prompt_tokens=len(ids),
            completion_tokens=len(kept),
            finish_reason="stop" if stopped else "length",
        )

    def _encode(self, request: Request) -> list[int]:
        return prompt.encode(self.tokenizer, request.messages, self.model_cfg.system_role)

    def generate(
        self,
        requests: Sequence[Request],
        params: GenerationParams,
        on_complete: Callable[[Completion], None] | None = None,
    ) -> list[Completion]:
        for r in requests:
            self._lora(r.adapter)  # an unknown persona fails before anything is sent
        futures = [self._rt.submit(self._complete(r, self._encode(r), params)) for r in requests]
        bar = tqdm(
            total=len(futures),
            desc="generate",
            unit="row",
            leave=False,
            disable=len(futures) <= params.batch_size,
        )
        try:
            for f in as_completed(futures):
                if on_complete is not None:
                    on_complete(f.result())
                bar.update(1)
        except BaseException as e:
            for f in futures:  # cancelling the coroutine aborts its request in vLLM
                f.cancel()
            self._engine_died(e)
            raise
        finally:
            bar.close()
        return [f.result() for f in futures]

    async def complete(self, request: Request, params: GenerationParams) -> Completion:
        self._lora(request.adapter)
        future = self._rt.submit(self._complete(request, self._encode(request), params))
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as e:
            self._engine_died(e)
            raise

    def next_token_logprobs(self, adapters: Sequence[str | None]) -> list[dict[int, float]]:
        """The probe prompt's top next-token log-probabilities, per adapter (None: base)."""
        ids = prompt.encode(self.tokenizer, prompt.PROBE, self.model_cfg.system_role)

        async def all_of() -> list[Any]:
            return await asyncio.gather(
                *(
                    self._run(
                        Request("probe", [], a),
                        ids,
                        self._sampling(
                            Request("probe", []),
                            GenerationParams(temperature=0.0, max_new_tokens=1),
                            logprobs=PROBE_TOP,
                        ),
                    )
                    for a in adapters
                )
            )

        try:
            outs = self._rt.call(all_of())
        except Exception as e:  # an adapter vLLM cannot load ends its engine process
            self._cache.drop()
            names = ", ".join(f"{self.stage.name}/{a}" for a in adapters if a)
            raise UserError(
                f"adapter {names}: vLLM failed while loading them "
                f"({type(e).__name__}; its log above has the cause)"
            ) from None
        return [{t: lp.logprob for t, lp in o.logprobs[0].items()} for o in outs]

    def _check_adapters(self) -> None:
        personas = sorted(self._loras)
        base, *rest = self.next_token_logprobs([None, *personas])
        shift = {}
        for p, lp in zip(personas, rest, strict=True):
            # A token in one top list and not the other: the distribution moved.
            shift[f"{self.stage.name}/{p}"] = max(
                abs(lp[t] - base[t]) if t in lp else float("inf") for t in base
            )
        dtype = self._rt.engine_args["dtype"]
        prompt.check_adapters_change(shift, prompt.adapter_tolerance(dtype))
