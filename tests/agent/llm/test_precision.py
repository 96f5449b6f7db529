import pytest

from agent.llm import precision
from agent.llm.precision import compute_dtype


@pytest.mark.parametrize(("capability", "expected"), [("AVX2", "float32"), ("DEFAULT", "float32"),
                                                      ("AVX512", "bfloat16")])
def test_auto_computes_in_bf16_only_where_the_cpu_has_bf16_kernels(monkeypatch, capability, expected):
    monkeypatch.setattr(precision, "cpu_capability", lambda: capability)
    assert compute_dtype("auto") == expected


@pytest.mark.parametrize("chosen", ["bfloat16", "float32"])
def test_a_chosen_dtype_wins(monkeypatch, chosen):
    monkeypatch.setattr(precision, "cpu_capability", lambda: "AVX2" if chosen == "bfloat16" else "AVX512")
    assert compute_dtype(chosen) == chosen


def test_the_server_launch_takes_the_setting(monkeypatch, tmp_path):
    from agent.llm.server import LLMServer
    from core.settings import get_settings

    monkeypatch.setenv("SCENEBRIDGE_COMPUTE_DTYPE", "float32")
    get_settings.cache_clear()
    try:
        command = LLMServer(model_dir=tmp_path, served_name="m").command()
    finally:
        get_settings.cache_clear()
    assert command[command.index("--dtype") + 1] == "float32"
