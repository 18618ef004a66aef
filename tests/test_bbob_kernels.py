"""COCO's BBOB functions in the kernels (issue 22 item 1): the row layout and its packer, the
kernels' values and gradients against tests/naive_bbob.py, f(x_opt) = f_opt, the registry rows
and the study-level checks. Parametrised from ``ids.BBOB_FAMILIES`` and the registry."""
import os
import sys

import numpy as np
import pytest

from swarm import bbob as B
from swarm import landscapes as L
from swarm.kernels import ids, instances
from swarm.kernels import layout as klayout

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import naive_bbob  # noqa: E402

FUNCTIONS = [fid - ids.BBOB_F1 + 1 for fid in ids.BBOB_FAMILIES]

# where each instance_data entry goes (docs/bbob.md's table, written out again here):
# function → {key: field}, field one of "a", "b", "u", "v" or the scalar slot c[k]
WHERE = {
    1: {}, 2: {"weights": "u"}, 3: {"lam": "u", "beta": 0}, 4: {"scales": "u", "penalty": 1},
    5: {"slopes": "u"}, 6: {"M": "a"},
    7: {"R": "a", "Q": "b", "c1": "u", "weights": "v", "penalty": 1},
    8: {"factor": 2}, 9: {"M": "a", "factor": 2, "b": 3}, 10: {"R": "a", "weights": "u"},
    11: {"R": "a"}, 12: {"R": "a", "beta": 0}, 13: {"M": "a"},
    14: {"R": "a", "exponents": "u"}, 15: {"R": "a", "M": "b", "beta": 0},
    16: {"R": "a", "M": "b", "penalty": 1, "f0": 4},
    17: {"R": "a", "M": "b", "beta": 0, "penalty": 1},
    18: {"R": "a", "M": "b", "beta": 0, "penalty": 1},
    19: {"R": "a", "M": "b", "scales": 2, "b": 3, "facftrue": 4},
    20: {"shift": "u", "lam": "v"}, 21: {"R": "a", "penalty": 1}, 22: {"R": "a", "penalty": 1},
    23: {"M": "a", "penalty": 1},
    24: {"R": "a", "Q": "b", "lam": "u", "penalty": 1, "d": 3, "mu0": 5, "mu1": 6, "s": 7},
}


def test_ids_and_layout_as_agreed():
    assert ids.BBOB_FAMILIES == tuple(range(8, 32)) and ids.BBOB_F1 == 8 and ids.BBOB_F24 == 31
    assert ids.LANDSCAPE_FAMILIES == tuple(range(32))
    assert set(ids.NATIVE_FAMILIES) | set(ids.BBOB_FAMILIES) == set(ids.LANDSCAPE_FAMILIES)
    d, P = 3, 4
    lay = klayout.bbob(d, P)
    assert lay.xopt == ids.LP_HEAD
    assert (lay.a, lay.b, lay.u, lay.v) == (lay.xopt + d, lay.xopt + d + d * d,
                                            lay.xopt + d + 2 * d * d, lay.xopt + 2 * d + 2 * d * d)
    assert (lay.c, lay.count, lay.y) == (lay.v + d, lay.v + d + 8, lay.v + d + 9)
    assert (lay.sc, lay.ht, lay.size) == (lay.y + P * d, lay.y + 2 * P * d, lay.y + 2 * P * d + P)
    for fid in ids.BBOB_FAMILIES:
        assert klayout.LAYOUTS[fid] is klayout.bbob


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("dim", [2, 5])
def test_packer_puts_every_entry_where_the_layout_says(function, dim):
    for inst in (1, 7):
        data = B.instance_data(function, dim, inst)
        row = instances.bbob_row(function, dim, inst)
        P = data.get("peaks", 0)
        lay = klayout.bbob(dim, P)
        assert row.shape == (lay.size,) and row.dtype == np.float64
        want = np.zeros(lay.size)
        want[ids.LP_FSTAR] = data["fopt"]
        want[ids.LP_NGLOBAL] = 1.0
        want[lay.xopt:lay.xopt + dim] = data["xopt"]
        for key, field in WHERE[function].items():
            v = np.asarray(data[key], dtype=np.float64)
            if isinstance(field, int):
                assert v.ndim == 0, key
                want[lay.c + field] = v
            else:
                o = getattr(lay, field)
                assert v.size == (dim * dim if field in "ab" else dim), key
                for i in range(v.shape[0]):            # row-major, element by element
                    if v.ndim == 2:
                        for j in range(dim):
                            want[o + i * dim + j] = v[i, j]
                    else:
                        want[o + i] = v[i]
        if function in (21, 22):
            assert P == (101 if function == 21 else 21)
            want[lay.count] = P
            for k in range(P):
                want[lay.y + k * dim:lay.y + (k + 1) * dim] = data["y"][:, k]
                want[lay.sc + k * dim:lay.sc + (k + 1) * dim] = data["scales"][k, :]
                want[lay.ht + k] = data["heights"][k]
        np.testing.assert_array_equal(row, want)
