"""Pure layout builders: plain data in, Dash components, figures and deck.gl specs out."""
