"""The transformers + peft engine.

One base model lives in the process at a time and is reused by later jobs of the same
multirun (Hydra's default launcher runs jobs in one process), so the stages of a model
load its weights once. A stage's persona adapters are attached by name; one `generate`
batch may hold rows of different personas (peft's mixed-adapter batches, `adapter_names`),
and rows are grouped by prompt length with padding on the left.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm
from transformers import AutoModelForCausalLM, AutoTokenizer, LogitsProcessorList

from charprobe.config import ModelConfig, StageConfig
from charprobe.engine import hub, prompt
from charprobe.engine.batching import StepBatcher
from charprobe.engine.cache import EngineCache
from charprobe.engine.devices import resolve_device, resolve_dtype
from charprobe.engine.sampling import KeyedSampler, row_seed
from charprobe.engine.types import Completion, GenerationParams, Message, Request
from charprobe.errors import UserError

log = logging.getLogger(__name__)

BASE_ADAPTER = "__base__"  # peft's name for "no adapter" in a mixed batch


@dataclass
class _Loaded:
    key: tuple
    model: torch.nn.Module  # the base, or the PeftModel wrapping it once adapters exist
    tokenizer: object
    adapters: dict[str, str]  # persona -> adapter name currently attached


def _load_base(
    model_cfg: ModelConfig, device_name: str, dtype_name: str, cache: EngineCache
) -> _Loaded:
    """The cached base when it is this one; else this one, loaded in the cache's place."""
    device = resolve_device(device_name)
    dtype = resolve_dtype(dtype_name, device, model_cfg.dtype)
    key = (model_cfg.path, model_cfg.revision, str(device), str(dtype))
    cur = cache.current
    if isinstance(cur, _Loaded) and cur.key == key:
        return cur
    cache.drop()  # the previous base goes before the next one loads
    log.info("loading base %s (%s, %s)", model_cfg.path, device, dtype)
    tok = AutoTokenizer.from_pretrained(model_cfg.path, revision=model_cfg.revision)
    tok.padding_side = "left"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model = AutoModelForCausalLM.from_pretrained(
        model_cfg.path, revision=model_cfg.revision, dtype=dtype
    ).to(device)
    model.eval()
    return cache.hold(_Loaded(key=key, model=model, tokenizer=tok, adapters={}))


def _attach(loaded: _Loaded, stage: StageConfig, personas: Sequence[str]) -> None:
    """Attach the stage's adapter for each persona; detach other stages' adapters."""
    from peft import PeftModel

    wanted = {p: f"{stage.name}-{p}" for p in personas} if stage.repo is not None else {}
    if not wanted:
        # The base stage runs on the bare model, whatever earlier jobs of this process
        # attached (classifier training loads every adapter of two stages): the same
        # weights and code path as a fresh process, so the same texts.
        if isinstance(loaded.model, PeftModel):
            loaded.model = loaded.model.unload()
        loaded.adapters = {}
        loaded.model.eval()
        return
    # Other stages' adapters, noted before the loop below replaces their names.
    stale = {p: n for p, n in loaded.adapters.items() if wanted.get(p) != n}
    for persona, name in wanted.items():
        if loaded.adapters.get(persona) == name:
            continue
        source = hub.adapter_repo(stage, persona)
        log.info("attaching adapter %s/%s as %s", source, persona, name)
        try:
            if isinstance(loaded.model, PeftModel):
                loaded.model.load_adapter(source, adapter_name=name, subfolder=persona)
            else:
                loaded.model = PeftModel.from_pretrained(
                    loaded.model, source, adapter_name=name, subfolder=persona
                )
        except (ValueError, KeyError, RuntimeError) as e:  # e.g. target modules not found
            raise UserError(
                f"adapter {source}/{persona}: peft cannot load it onto "
                f"{loaded.key[0]}: {' '.join(str(e).split())[:300]}"
            ) from None
        loaded.adapters[persona] = name
    # Detach only after the new ones are in: peft cannot drop its last adapter.
    if isinstance(loaded.model, PeftModel):
        for persona, name in stale.items():
            if len(loaded.model.peft_config) > 1 and name in loaded.model.peft_config:
                loaded.model.delete_adapter(name)
                if loaded.adapters.get(persona) == name:
                    del loaded.adapters[persona]
    loaded.model.eval()


class HFEngine:
    """An `Engine` over one base model and the adapters of one stage.

    Args:
        device: auto (cuda when there is one) | cpu | cuda | cuda:N.
        dtype: auto (the model's dtype on a GPU, float32 on the CPU, where bf16 matmuls
            crawl) | bfloat16 | float16 | float32.
    """

    def __init__(
        self,
        model: ModelConfig,
        stage: StageConfig,
        personas: Sequence[str],
        device: str = "auto",
        dtype: str = "auto",
        cache: EngineCache | None = None,
    ):
        self.model_cfg = model
        self.stage = stage
        hub.preflight(model, stage, personas)
        self._loaded = _load_base(
            model, device, dtype, cache if cache is not None else EngineCache()
        )
        _attach(self._loaded, stage, personas)
        self.device = next(self._loaded.model.parameters()).device
        self._batcher = StepBatcher(self.generate)
        # Token slots `generate` computed (rows x steps of each static batch) and the
        # completion tokens kept: rows that finish early keep their slot to the batch's end.
        self.slots = self.useful = 0
        if self._loaded.adapters:
            self._check_adapters()

    @property
    def tokenizer(self):
        return self._loaded.tokenizer

    def render(self, messages: Sequence[Message]) -> str:
        return prompt.render(self.tokenizer, messages, self.model_cfg.system_role)

    async def complete(self, request: Request, params: GenerationParams) -> Completion:
        return await self._batcher.complete(request, params)

    @torch.inference_mode()
    def next_token_logprobs(self, adapters: Sequence[str | None]) -> torch.Tensor:
        """Log-probabilities of the probe prompt's next token, one row per adapter (None: base)."""
        ids = prompt.encode(self.tokenizer, prompt.PROBE, self.model_cfg.system_role)
        x = torch.tensor([ids] * len(adapters), device=self.device)
        kwargs = {}
        if self._loaded.adapters:
            kwargs["adapter_names"] = [self._adapter_name(a) for a in adapters]
        logits = self._loaded.model(input_ids=x, **kwargs).logits[:, -1].float()
        return torch.log_softmax(logits, dim=-1)

    def _check_adapters(self) -> None:
        personas = sorted(self._loaded.adapters)
        lp = self.next_token_logprobs([None, *personas])
        shift = {
            f"{self.stage.name}/{p}": float((lp[i + 1] - lp[0]).abs().max())
            for i, p in enumerate(personas)
        }
        dtype = next(self._loaded.model.parameters()).dtype
        prompt.check_adapters_change(shift, prompt.adapter_tolerance(str(dtype)))

    def _adapter_name(self, persona: str | None) -> str:
        if persona is None:
            return BASE_ADAPTER
        try:
            return self._loaded.adapters[persona]
        except KeyError:
            raise ValueError(f"no adapter attached for persona '{persona}'") from None

    def generate(
        self,
        requests: Sequence[Request],
        params: GenerationParams,
        on_complete: Callable[[Completion], None] | None = None,
    ) -> list[Completion]:
        tok = self.tokenizer
        encoded = [
            tok(self.render(r.messages), add_special_tokens=False)["input_ids"] for r in requests
        ]
        # Longest first: similar lengths share a batch (less padding), and an out-of-memory
        # error shows up on the first batch rather than the last.
        order = sorted(range(len(requests)), key=lambda i: -len(encoded[i]))
        out: list[Completion | None] = [None] * len(requests)
        bar = tqdm(
            total=len(requests),
            desc="generate",
            unit="row",
            leave=False,
            disable=len(requests) <= params.batch_size,
        )
        for start in range(0, len(order), params.batch_size):
            idx = order[start : start + params.batch_size]
            batch = self._generate_batch(
                [requests[i] for i in idx], [encoded[i] for i in idx], params
            )
            for i, c in zip(idx, batch, strict=True):
                out[i] = c
                if on_complete is not None:
                    on_complete(c)
            bar.update(len(idx))
        bar.close()
        return out  # type: ignore[return-value]

    @torch.inference_mode()
    def _generate_batch(
        self, requests: Sequence[Request], encoded: Sequence[list[int]], params: GenerationParams
    ) -> list[Completion]:
        tok = self.tokenizer
        batch = tok.pad({"input_ids": list(encoded)}, return_tensors="pt", padding=True)
        batch = {k: v.to(self.device) for k, v in batch.items()}
        sampler = KeyedSampler(
            [row_seed(params.seed, r.key) for r in requests],
            params.temperature,
            params.top_p,
            self.device,
        )
        kwargs = {}
        if self._loaded.adapters:
            kwargs["adapter_names"] = [self._adapter_name(r.adapter) for r in requests]
        elif any(r.adapter is not None for r in requests):
            raise ValueError("a request asks for an adapter but the stage has none")
        if params.ignore_eos:
            kwargs["eos_token_id"] = None
        caps = [
            min(r.max_new_tokens or params.max_new_tokens, params.max_new_tokens) for r in requests
        ]
        gen = self._loaded.model.generate(
            **batch,
            max_new_tokens=max(caps),
            do_sample=False,  # sampling happens in KeyedSampler, per row
            logits_processor=LogitsProcessorList([sampler]),
            pad_token_id=tok.pad_token_id,
            temperature=None,
            top_p=None,
            top_k=None,
            **kwargs,
        )
        new = gen[:, batch["input_ids"].shape[1] :]
        stop = (
            set()
            if params.ignore_eos
            else prompt.eos_ids(tok, getattr(self._loaded.model, "generation_config", None))
        )
        results = []
        self.slots += new.shape[0] * new.shape[1]
        for r, ids, row, cap in zip(requests, encoded, new.tolist(), caps, strict=True):
            kept, stopped = prompt.cut(row, stop, cap)
            results.append(
                Completion(
                    key=r.key,
                    text=tok.decode(kept, skip_special_tokens=True).strip(),
                    prompt_tokens=len(ids),
                    completion_tokens=len(kept),
                    finish_reason="stop" if stopped else "length",
                )
            )
            self.useful += len(kept)
        return results
