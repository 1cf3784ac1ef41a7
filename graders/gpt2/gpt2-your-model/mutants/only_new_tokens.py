"""continue_tokens returns only the new tokens, without the prompt in front of them."""


def continue_tokens(model, prompt, max_new_tokens, seed=0, temperature=0.0, top_k=None, top_p=None):
    tokens = torch.tensor([list(prompt)], dtype=torch.long)
    out = generate(model, tokens, max_new_tokens, seed=seed, temperature=temperature, top_k=top_k, top_p=top_p)
    return out[0, len(prompt):].tolist()
