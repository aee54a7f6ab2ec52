"""`python -m colorizer.app`: a page to try a photo on one or more checkpoints and see the scores.

`session` does the work (colorize, score, keep the alpha) and needs no web framework; `page`
lays it out with Gradio, the optional extra `pip install -e ".[app]"`.
"""
