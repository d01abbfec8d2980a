"""Export of animations, images and data (headless too)."""
