"""Small models the project ships and trains itself, and the code that loads them offline."""
