"""Field feeds: detector counts and checkpoint scans, validated, recorded and assimilated.

Contract shared by the feed modules (see :mod:`twin.feeds.batch`):

- :mod:`twin.feeds.batch` - the validated, aggregated batch types that travel through the one
  command path into the recording and into the engine.
- :mod:`twin.feeds.traffic_assimilation` - ``assimilate_detectors(engine, counts, usable=...)``:
  corrects the engine's traffic state and demand from detector counts.
- :mod:`twin.feeds.checkpoint_assimilation` - ``assimilate_checkpoints(engine, counts)``:
  corrects the checkpoint queues and service rates from counted scans.
"""
