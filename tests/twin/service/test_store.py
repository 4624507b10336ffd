"""Stores: in-process and Redis give the same frames through one interface."""

import numpy as np
import pytest

from twin.service.store import Frame, InProcessStore, RedisStore, open_store


class View:
    def __init__(self, time_s):
        self.time_s = time_s
        self.links = {"speed_kph": np.arange(3.0)}


def _check(store):
    assert store.latest() is None and store.seq() == -1
    store.publish(Frame(seq=0, wall_s=1.0, view=View(10.0)))
    store.publish(Frame(seq=1, wall_s=2.0, view=View(20.0), speed=5.0))
    frame = store.latest()
    assert (frame.seq, frame.time_s, frame.speed, store.seq()) == (1, 20.0, 5.0, 1)
    assert frame.view.links["speed_kph"].tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(TypeError, match="'frame' should be Frame, got dict"):
        store.publish({})


def test_in_process_store():
    _check(InProcessStore())


def test_open_store_checks_its_arguments():
    assert isinstance(open_store("memory"), InProcessStore)
    with pytest.raises(ValueError, match="store 'redis' needs a redis_url"):
        open_store("redis")
    with pytest.raises(ValueError, match="store must be 'memory' or 'redis', got 'disk'"):
        open_store("disk")


def test_redis_store(redis_url):
    _check(RedisStore(redis_url, prefix="t1"))


def test_redis_reader_sees_the_writers_frames(redis_url):
    writer, reader = (
        RedisStore(redis_url, prefix="t2"),
        open_store("redis", redis_url=redis_url, prefix="t2"),
    )
    writer.publish(Frame(seq=7, wall_s=0.0, view=View(5.0)))
    first = reader.latest()
    assert first.seq == 7 and reader.latest() is first  # unchanged seq: no new fetch
