"""load_gpt2 returns a fresh GPT2(cfg): the weights are never loaded, so the model writes noise."""


def load_gpt2(cfg, state_dict):
    return GPT2(cfg).eval()
