"""Masks after prediction: refinement (``refine``), temporal smoothing (``temporal``), foreground estimation and
compositing (``composite``). Plain tensor functions, no model.
"""
