"""A LoRA tuning, served by vLLM as base model + adapter, gives the merged model's label
distribution. A module of its own so that test_tune_live.py's tuned-model server is stopped
before this one starts: with fp32 weights (an AVX2 host) three vLLM servers beside the test
process left vLLM less memory than its KV cache needs."""

import gc

import pytest

from agent.llm.models import prepare_model
from agent.llm.server import served_models, served_name, start_server, stop_server, tuned_adapter, wait_ready
from agent.tuning.run import TuneConfig, tune
from agent.tuning.trainer import TrainConfig
from core.settings import get_settings
from tests.agent.llm.test_server import free_port
from tests.agent.tuning.test_tune_live import served_label_probs, trainer_label_probs, training_examples

pytestmark = [pytest.mark.live_llm, pytest.mark.slow]


@pytest.fixture(scope="module")
def lora_tuned(tmp_path_factory, store_path):
    # A high learning rate so that the adapter moves the label distribution measurably off the base.
    out = tmp_path_factory.mktemp("lora") / "lora-100k"
    config = TuneConfig(dataset="ml-100k", train_users=2, validation_users=1, kinds=["warm", "cold"],
                        train=TrainConfig(method="lora", learning_rate=2e-3, batch_size=2, warmup_steps=0))
    tune(config, out, store=store_path, progress=False)
    return out


def test_vllm_serves_the_lora_adapter_on_the_base_model_like_the_merged_model(lora_tuned):
    settings = get_settings()
    base, adapter = tuned_adapter(lora_tuned)
    base_dir = prepare_model(base, settings.cache_dir, progress=False)
    example = training_examples(lora_tuned)[0]
    merged, untuned = trainer_label_probs(lora_tuned, example), trainer_label_probs(base_dir, example)
    assert max(abs(a - b) for a, b in zip(merged, untuned)) > 0.05  # the adapter changed something
    gc.collect()  # the models loaded above: give their memory back before vLLM sizes its cache
    port = free_port()
    process = start_server(base_dir, served_name(base_dir), port, settings.llm_host, 1.0,
                           max_model_len=settings.llm_max_model_len, adapter=adapter)
    try:
        url = f"http://{settings.llm_host}:{port}/v1"
        wait_ready(url, process, settings.llm_start_timeout, progress=False)
        assert served_models(url) == [served_name(base_dir), adapter.name]
        got = served_label_probs(url, adapter.name, example)
    finally:
        stop_server(process)
    assert got == pytest.approx(merged, abs=0.05)
