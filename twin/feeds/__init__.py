"""Field feeds: detector counts and checkpoint scans, validated, recorded and assimilated.

Contract shared by the feed modules (see :mod:`twin.feeds.batch`):

- :mod:`twin.feeds.batch` - the validated, aggregated batch types that travel through the one
  command path into the recording and into the engine.
- :mod:`twin.feeds.traffic_assimilation` - ``assimilate_detectors(engine, counts, usable=...)``:
  corrects the engine's traffic state and demand from detector counts.
- :mod:`twin.feeds.checkpoint_assimilation` - ``assimilate_checkpoints(engine, counts)``:
  corrects the checkpoint queues and service rates from counted scans.

The ingest (``docs/feeds.md``), one concern per module: :mod:`~twin.feeds.parse` (NDJSON, JSON,
CSV bodies to raw fields), :mod:`~twin.feeds.columns` (typed arrays by record shape),
:mod:`~twin.feeds.validate` (the rules, vectorised, all or nothing), :mod:`~twin.feeds.aggregate`
(scans to counts per minute), :mod:`~twin.feeds.ingest` (read, then check: what
:meth:`twin.service.commands.CommandPath.feed` runs), :mod:`~twin.feeds.payload` (the batch and
its recorded form), :mod:`~twin.feeds.apply` (in the loop, after recording),
:mod:`~twin.feeds.health` (stuck, silent, inconsistent detectors), :mod:`~twin.feeds.state` and
:mod:`~twin.feeds.extension` (``engine.state.extras["feeds"]``), :mod:`~twin.feeds.status`
(plain status for operators), :mod:`~twin.feeds.replayer` (files in step with the clock),
:mod:`~twin.feeds.synthetic` (the synthetic Seoul feed), :mod:`~twin.feeds.refusal` (codes).
"""
