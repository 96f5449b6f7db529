"""The label-token trainer on a tiny random Gemma 3: the loss falls, a run resumes exactly,
the merged result loads back, and the labels are the tokens the ranker asks for."""

import pytest
import torch

from agent.llm.adapted import save_merged
from agent.rankers.verbalizer import LABELS
from agent.tuning.examples import TuningExample
from agent.tuning.trainer import TrainConfig, evaluate_loss, example_loss, label_token_ids, prepare_for_training, train


def examples(n=4, answer=None):
    """Five labelled films; the answer is C unless told (a tiny random model learns that fast)."""
    out = []
    for k in range(n):
        answer = 2 if answer is None else answer
        lines = "\n".join(f"{LABELS[i]}. Film {i}" for i in range(5))
        out.append(TuningExample(kind="warm", user=f"u{k}", scene="Sci-Fi", held_out=f"i{answer}",
                                 candidates=[f"i{i}" for i in range(5)], answer=answer,
                                 prompt=f"The user chooses {LABELS[answer]}.\n{lines}\nAnswer:"))
    return out


def test_labels_are_single_tokens(tokenizer):
    ids = label_token_ids(tokenizer)
    assert len(ids) == 20 == len(set(ids.tolist()))
    assert tokenizer.decode([int(ids[0])]) == " A"


def test_the_loss_is_over_the_shown_labels_only(tiny_model, tokenizer):
    model = prepare_for_training(tiny_model, "full")
    loss, _ = example_loss(model, tokenizer, label_token_ids(tokenizer), examples(1)[0])
    assert 0 < loss.item() < 10 and loss.requires_grad  # ~log 5 for random weights


def test_training_lowers_the_loss(tiny_model, tokenizer, tmp_path):
    model = prepare_for_training(tiny_model, "full")
    data = examples()
    before = evaluate_loss(model, tokenizer, data)["loss"]
    config = TrainConfig(epochs=6, learning_rate=3e-3, batch_size=2, warmup_steps=0)
    state = train(model, tokenizer, lambda epoch: data, config, tmp_path / "checkpoint")
    assert state.step == 12 and state.examples_seen == 24 and len(state.losses) == 12
    after = evaluate_loss(model, tokenizer, data)
    assert after["loss"] < before - 0.4 and after["top1"] == 1.0  # 1.63 -> 1.01 measured


def test_embeddings_stay_frozen_and_trained_weights_are_fp32(tiny_model):
    model = prepare_for_training(tiny_model, "full")
    assert not model.get_input_embeddings().weight.requires_grad
    assert all(p.dtype == torch.float32 for p in model.parameters() if p.requires_grad)


def test_an_interrupted_run_resumes_to_the_same_result(tokenizer, tmp_path, tiny_model):
    import copy

    data = examples()
    config = TrainConfig(epochs=2, learning_rate=1e-3, batch_size=2, warmup_steps=1, save_every=1)
    straight = prepare_for_training(copy.deepcopy(tiny_model), "full")
    reference = train(straight, tokenizer, lambda epoch: data, config, tmp_path / "a")

    class Interrupted(Exception):
        pass

    def stop_after_two(state, total):
        if state.step == 2:
            raise Interrupted

    first = prepare_for_training(copy.deepcopy(tiny_model), "full")
    with pytest.raises(Interrupted):
        train(first, tokenizer, lambda epoch: data, config, tmp_path / "b", on_step=stop_after_two)
    resumed = prepare_for_training(copy.deepcopy(tiny_model), "full")  # a fresh process: weights from disk
    state = train(resumed, tokenizer, lambda epoch: data, config, tmp_path / "b")
    assert state.step == reference.step == 4
    assert state.losses == pytest.approx(reference.losses, abs=1e-3)
    for (name, a), (_, b) in zip(straight.named_parameters(), resumed.named_parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-5), name


def test_lora_trains_adapters_and_merges_into_a_plain_model(tiny_model, tokenizer, tmp_path):
    from transformers import AutoModelForCausalLM

    model = prepare_for_training(tiny_model, "lora", lora_rank=4)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    data = examples()
    train(model, tokenizer, lambda epoch: data, TrainConfig(epochs=2, learning_rate=1e-2, batch_size=2,
                                                            warmup_steps=0, method="lora"), tmp_path / "ckpt")
    tuned = evaluate_loss(model, tokenizer, data)["loss"]
    save_merged(model, tokenizer, tmp_path, tmp_path / "merged")
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "merged", dtype=torch.bfloat16)
    assert not any("lora" in n for n, _ in merged.named_parameters())
    assert evaluate_loss(merged, tokenizer, data)["loss"] == pytest.approx(tuned, abs=0.05)


@pytest.mark.parametrize("method", ["full", "lora"])
def test_frozen_lower_layers_do_not_move_and_the_upper_ones_learn(tiny_model, tokenizer, tmp_path, method):
    from agent.tuning.trainer import decoder_layers

    n_layers = len(decoder_layers(tiny_model))
    model = prepare_for_training(tiny_model, method, lora_rank=4, freeze_layers=n_layers - 1)
    layers = decoder_layers(model)
    before = {n: p.detach().clone() for n, p in layers[0].named_parameters()}
    assert not any(p.requires_grad for p in layers[0].parameters())
    assert any(p.requires_grad for p in layers[-1].parameters())
    data = examples()
    start = evaluate_loss(model, tokenizer, data)["loss"]
    train(model, tokenizer, lambda epoch: data, TrainConfig(epochs=4, learning_rate=1e-2, batch_size=2,
                                                            warmup_steps=0, method=method), tmp_path / "ckpt")
    assert all(torch.equal(p, before[n]) for n, p in layers[0].named_parameters())
    assert evaluate_loss(model, tokenizer, data)["loss"] < start


def test_freezing_every_layer_is_refused(tiny_model):
    from agent.tuning.trainer import decoder_layers
    from core.errors import DataError

    with pytest.raises(DataError, match="freeze at most"):
        prepare_for_training(tiny_model, "full", freeze_layers=len(decoder_layers(tiny_model)))
