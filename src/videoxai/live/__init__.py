"""Live selective explanation of a video stream: a sliding window, an explainer thread and the page that shows them."""
