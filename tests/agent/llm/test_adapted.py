"""The adapter-merge path of ``model prepare``: a LoRA adapter on the packaged base, merged once
into servable weights in a clean cache, redone only when the adapter changes."""

from __future__ import annotations

import time

import pytest
import torch

import agent.llm.models as models
from agent.llm.adapted import AdaptedModel
from agent.llm.models import DEFAULT_MODEL, model_dir, prepare_model, read_marker, register_adapted
from core.errors import DataError, NotFoundError
from core.settings import get_settings


def test_an_adapter_needs_a_packaged_base(tmp_path):
    with pytest.raises(NotFoundError, match="base model"):
        register_adapted(AdaptedModel(name="x", description="", base="no-such-model", adapter=tmp_path))


def test_a_missing_adapter_says_how_to_restore_it(tmp_path):
    with pytest.raises(DataError, match="adapter of x is missing") as info:
        AdaptedModel(name="x", description="", base=DEFAULT_MODEL, adapter=tmp_path).adapter_sha256()
    assert "tuning.json" in info.value.hint


@pytest.mark.slow
def test_prepare_merges_the_adapter_once_into_a_clean_cache(tmp_path, monkeypatch):
    from peft import LoraConfig, get_peft_model
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    base_dir = prepare_model(DEFAULT_MODEL, get_settings().cache_dir, progress=False)
    # A real adapter on the real base: one layer's q_proj, with a non-zero update.
    base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    peft = get_peft_model(base, LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj"], layers_to_transform=[17]))
    with torch.no_grad():
        for name, p in peft.named_parameters():
            if "lora_B" in name:
                p.fill_(0.01)
    peft.save_pretrained(tmp_path / "adapter")
    delta = peft.base_model.model.model.layers[17].self_attn.q_proj.get_delta_weight("default").detach()
    base_q = peft.base_model.model.model.layers[17].self_attn.q_proj.base_layer.weight.detach().clone()

    cache = tmp_path / "cache"
    (cache / "models").mkdir(parents=True)
    (cache / "models" / DEFAULT_MODEL).symlink_to(base_dir)  # the base as prepared; the merge is new
    monkeypatch.setitem(models.ADAPTED, "test-adapted", AdaptedModel(
        name="test-adapted", description="test", base=DEFAULT_MODEL, adapter=tmp_path / "adapter"))
    merged_dir = prepare_model("test-adapted", cache, progress=False)
    assert merged_dir == model_dir("test-adapted", cache)
    marker = read_marker(merged_dir)
    assert marker["base"] == DEFAULT_MODEL and len(marker["adapter_sha256"]) == 64
    weights = load_file(merged_dir / "model.safetensors")
    q = weights["model.layers.17.self_attn.q_proj.weight"].float()
    assert torch.allclose(q, base_q + delta, atol=2e-2) and not torch.allclose(q, base_q, atol=1e-4)
    assert torch.equal(weights["model.layers.3.self_attn.q_proj.weight"].float(),
                       base.model.layers[3].self_attn.q_proj.weight.to(torch.bfloat16).float())
    assert not any("lora" in k for k in weights) and (merged_dir / "tokenizer.json").exists()

    started = time.monotonic()
    assert prepare_model("test-adapted", cache, progress=False) == merged_dir  # once
    assert time.monotonic() - started < 1.0
    with torch.no_grad():  # a retrained adapter is merged again
        for name, p in peft.named_parameters():
            if "lora_B" in name:
                p.fill_(0.02)
    peft.save_pretrained(tmp_path / "adapter")
    prepare_model("test-adapted", cache, progress=False)
    assert read_marker(merged_dir)["adapter_sha256"] != marker["adapter_sha256"]
    again = load_file(merged_dir / "model.safetensors")["model.layers.17.self_attn.q_proj.weight"].float()
    assert torch.allclose(again, base_q + 2 * delta, atol=2e-2)
