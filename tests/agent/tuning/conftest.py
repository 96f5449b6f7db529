"""A tiny Gemma 3 (random weights, the real tokenizer) so trainer tests run in seconds."""

import pytest
import torch


@pytest.fixture(scope="session")
def tokenizer():
    from transformers import AutoTokenizer

    from agent.llm.models import prepare_model
    from core.settings import get_settings

    settings = get_settings()
    return AutoTokenizer.from_pretrained(prepare_model(settings.llm_model, settings.cache_dir, progress=False))


@pytest.fixture
def one_thread():
    """The tiny model's matrices are far too small to share out: on two busy cores torch's
    threads cost about three times the work itself (a training step 0.45 s, 0.14 s on one)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def tiny_model(tokenizer, one_thread):
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(0)
    config = Gemma3TextConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                              num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
                              head_dim=16, max_position_embeddings=2048, attn_implementation="eager")
    return Gemma3ForCausalLM(config).to(torch.bfloat16)
