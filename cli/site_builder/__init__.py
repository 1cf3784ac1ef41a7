"""The static site (`mi-exercise site build|serve`) and Jupyter notebooks (`mi-exercise notebook`).

render.py turns an exercise's page.md (after the Jinja stage in mi_exercise.pages) into HTML
with server-side highlighting (Pygments) and maths (latex2mathml, MathML: no external service);
stubinfo.py reads the functions to write from stub.py with ast; pictures.py draws SVG charts
from data an exercise's optional pictures.py hook provides; build.py writes the site;
notebook.py writes notebooks and extracts a learner's solution cells for `check`.
"""
