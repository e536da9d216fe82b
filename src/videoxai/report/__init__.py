"""Tables, figures, the report's front page, overlays and the colour scale, from the tidy rows of the evaluation."""
