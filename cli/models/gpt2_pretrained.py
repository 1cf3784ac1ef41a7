"""Real GPT-2 small, from the local Hugging Face cache only (never downloaded at grading time).

    from mi_exercise.models.gpt2_pretrained import load_pretrained, PretrainedUnavailable
    cfg, state_dict, bridge = load_pretrained("gpt2")     # or a folder written by save_pretrained

The model is booted with `TransformerBridge.boot_transformers` with the Hugging Face hub switched
offline; its weights are returned in the learner's format (see gpt2_reference). When the weights
are not on this machine, PretrainedUnavailable says how to get them.
"""

from __future__ import annotations

import os
from pathlib import Path


class PretrainedUnavailable(Exception):
    """The weights are not on this machine; the message says how to fetch them once."""


def how_to_get(name: str) -> str:
    return (
        f"the pretrained weights of '{name}' are not in the Hugging Face cache "
        f"({os.environ.get('HF_HOME', '~/.cache/huggingface')}), and grading never downloads them.\n"
        "Fetch them once on a machine with a network (about 550 MB), then check again:\n"
        f"    python -c \"from transformers import AutoModelForCausalLM, AutoTokenizer; "
        f"AutoModelForCausalLM.from_pretrained('{name}'); AutoTokenizer.from_pretrained('{name}')\"\n"
        f"or: huggingface-cli download {name}"
    )


def _go_offline() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    try:  # huggingface_hub reads the variable at import; set the constant too if it is loaded
        import huggingface_hub.constants as constants

        constants.HF_HUB_OFFLINE = True
    except Exception:  # noqa: BLE001 - an older or missing huggingface_hub reads the env var
        pass


def load_bridge(name_or_path: str = "gpt2", *, device: str = "cpu"):
    """A GPT-2-format checkpoint that is already on this machine (a hub name in the local cache,
    or a save_pretrained folder) as a TransformerBridge in eval mode; PretrainedUnavailable says
    how to fetch it when it is not here."""
    _go_offline()
    try:
        from transformers import AutoModelForCausalLM
    except ImportError:
        raise PretrainedUnavailable("the 'transformers' package is needed to read GPT-2 checkpoints: "
                                    "pip install transformers") from None
    from transformer_lens.model_bridge import TransformerBridge

    local = Path(name_or_path).expanduser()
    if local.exists() and not (local / "config.json").is_file():
        raise PretrainedUnavailable(f"{local} is not a Hugging Face checkpoint folder (it has no config.json)")
    try:
        hf_model = AutoModelForCausalLM.from_pretrained(str(local) if local.exists() else name_or_path,
                                                        local_files_only=True)
    except (OSError, ValueError) as exc:
        raise PretrainedUnavailable(how_to_get(name_or_path) + f"\n(the loader said: {str(exc).splitlines()[0][:300]})") from None
    if getattr(hf_model.config, "model_type", None) != "gpt2":
        raise PretrainedUnavailable(f"'{name_or_path}' is a {hf_model.config.model_type} model, not GPT-2")
    tokenizer = None
    try:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(local) if local.exists() else name_or_path, local_files_only=True)
    except (OSError, ValueError):
        tokenizer = None  # the weights are enough for grading; a checkpoint may ship without one
    bridge = TransformerBridge.boot_transformers(str(local) if local.exists() else name_or_path, hf_model=hf_model,
                                                 tokenizer=tokenizer, device=device)
    bridge.eval()
    return bridge


def load_pretrained(name_or_path: str = "gpt2", *, device: str = "cpu"):
    """(learner config, learner-format state dict, bridge) of a GPT-2-format checkpoint that is
    already on this machine: a hub name in the local cache, or a save_pretrained folder."""
    from mi_exercise.models import gpt2_reference

    bridge = load_bridge(name_or_path, device=device)
    return (gpt2_reference.learner_config_from_bridge(bridge),
            gpt2_reference.learner_state_dict_from_bridge_weights(bridge), bridge)
