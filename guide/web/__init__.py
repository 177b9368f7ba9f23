"""The web chat: Gradio wiring, the chat session, feedback and the evaluate view."""
