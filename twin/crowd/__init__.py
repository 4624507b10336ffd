"""The pedestrian side: walkable grid, crowd flow, checkpoints and their queues, the engine hook."""
