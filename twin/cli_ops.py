"""Operations commands of ``python -m twin`` (corridor, checkpoints, whatif)."""

COMMANDS: list = []
