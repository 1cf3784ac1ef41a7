"""mi-exercise: auto-graded exercises for learning mechanistic interpretability."""

__version__ = "0.1.0"
