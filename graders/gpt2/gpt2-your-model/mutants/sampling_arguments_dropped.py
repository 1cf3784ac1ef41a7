"""continue_tokens drops seed, temperature, top_k and top_p: it always decodes greedily."""


def continue_tokens(model, prompt, max_new_tokens, seed=0, temperature=0.0, top_k=None, top_p=None):
    tokens = torch.tensor([list(prompt)], dtype=torch.long)
    return generate(model, tokens, max_new_tokens, temperature=0.0)[0].tolist()
