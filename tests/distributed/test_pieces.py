"""The parts of data parallelism that need no MPI job: launcher detection, shards, buffers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backprop import distributed as dist
from backprop.errors import ConfigError, DataError, DivergenceError, GradcheckError


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"PMI_SIZE": "4", "PMI_RANK": "3"}, ("hydra", 4, 3)),
        ({"OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_RANK": "0"}, ("Open MPI", 2, 0)),
        ({"SLURM_STEP_NUM_TASKS": "8", "PMIX_RANK": "5"}, ("PMIx", 8, 5)),
        ({"SLURM_STEP_NUM_TASKS": "8", "SLURM_PROCID": "7"}, ("Slurm", 8, 7)),
        # a batch script's own shell: the job's task count, but no srun step
        ({"SLURM_NTASKS": "8", "SLURM_PROCID": "0"}, None),
        ({"PMI_SIZE": "four", "PMI_RANK": "0"}, None),  # unreadable
        ({"PMI_SIZE": "2", "PMI_RANK": "2"}, None),  # rank out of range
    ],
)
def test_launcher_is_read_from_the_environment(environ, expected):
    found = dist.detect(environ)
    assert (None if found is None else (found.name, found.size, found.rank)) == expected


def test_resolve_without_a_launcher_is_one_process():
    assert dist.resolve("off", {"PMI_SIZE": "4", "PMI_RANK": "0"}) is None
    assert dist.resolve("auto", {}) is None
    assert dist.resolve("auto", {"PMI_SIZE": "1", "PMI_RANK": "0"}) is None
    with pytest.raises(ConfigError, match="auto, off, mpi"):
        dist.resolve("always", {})


@given(st.integers(0, 300), st.integers(1, 17))
def test_shards_are_contiguous_cover_the_batch_and_differ_by_at_most_one(m, n):
    bounds = [dist.shard_bounds(m, n, r) for r in range(n)]
    assert bounds[0][0] == 0 and bounds[-1][1] == m
    assert all(stop == start for (_, stop), (start, _) in zip(bounds, bounds[1:]))
    sizes = dist.shard_sizes(m, n)
    assert sum(sizes) == m and max(sizes) - min(sizes) <= 1
    assert sizes == sorted(sizes, reverse=True)  # the larger shards first


def test_shards_by_hand():
    assert dist.shard_sizes(10, 3) == [4, 3, 3]
    assert dist.shard_sizes(2, 3) == [1, 1, 0]  # m < N: the last rank takes none
    assert dist.shard_bounds(65, 2, 1) == (33, 65)
    with pytest.raises(ConfigError):
        dist.shard_bounds(5, 2, 2)


def test_packed_views_share_one_buffer_in_parameter_order():
    shapes = [(100, 784), (100, 1), (10, 100), (10, 1)]
    packed = dist.PackedGradients(shapes, np.dtype("float32"), n_control=2)
    assert [v.shape for v in packed.views] == shapes
    # [784, 100, 10] in float32: 79,510 parameters, 318,040 bytes, plus two control slots
    assert packed.nbytes == (79_510 + 2) * 4
    packed.views[1][3, 0] = 7.0
    packed.control[1] = 1.0
    assert packed.flat[78_400 + 3] == 7.0 and packed.flat[-1] == 1.0
    packed.zero()
    assert not packed.flat.any()


def test_ring_allreduce_bytes():
    # 2 (N − 1)/N × 318,040 bytes: one copy at N = 2, approaching two copies
    assert dist.ring_allreduce_bytes(318_040, 1) == 0
    assert dist.ring_allreduce_bytes(318_040, 2) == 318_040
    assert dist.ring_allreduce_bytes(318_040, 8) == pytest.approx(556_570)
    assert dist.ring_allreduce_bytes(318_040, 512) == pytest.approx(634_837.7, rel=1e-6)


def test_fingerprint_sees_one_changed_element_shape_and_dtype():
    X = np.arange(12.0).reshape(4, 3)
    base = dist.fingerprint([X, None])
    assert dist.fingerprint([X.copy(), None]) == base
    changed = X.copy()
    changed[2, 1] = np.nextafter(changed[2, 1], 100)
    assert dist.fingerprint([changed, None]) != base
    assert dist.fingerprint([X.reshape(3, 4), None]) != base
    assert dist.fingerprint([X.astype(np.float32), None]) != base
    assert dist.fingerprint([X, X[:0]]) != base


def test_exit_codes():
    assert dist.exit_code(DataError("x")) == 2
    assert dist.exit_code(DivergenceError("x")) == 1
    assert dist.exit_code(GradcheckError("x")) == 1
    assert dist.exit_code(KeyboardInterrupt()) == 130
    assert dist.exit_code(SystemExit(3)) == 3
    assert dist.exit_code(RuntimeError("x")) == 1
