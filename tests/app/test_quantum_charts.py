"""The quantum view's figures build from the service's results (no browser needed), also for a register too
large for a bar per basis state."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from helpers import draw_digit_one

from app_pages import quantum_charts as charts
from qnn_core.service import TaskService
from qnn_core.tasks import get_task

pytestmark = pytest.mark.skipif(not get_task("mnist").checkpoint().is_file(), reason="no shipped mnist checkpoint")


def test_every_view_builds_a_figure_of_its_numbers():
    service = TaskService.get("mnist")
    result = service.classify(draw_digit_one())
    state = service.quantum_state(result)
    bars = charts.state_chart(state)
    assert [len(t.y) for t in bars.data] == [256, 256]
    assert len(bars.layout.annotations) == 2 + 2 * charts.LABELLED  # two titles, the top kets of each stage
    bloch = charts.bloch_chart(state)
    tips = [t for t in bloch.data if t.name and t.name.startswith("q")]
    assert len(tips) == 16 and np.allclose([t.z[1] for t in tips[8:]], state.final.expvals)
    assert list(charts.entanglement_chart(state).data[0].y) == pytest.approx(list(state.final.entropy))
    shots = service.shots(result, 10)
    assert len(charts.shots_chart(shots).data[1].y) == 20 * 8
    assert len(charts.shots_chart(service.shots(result, 0)).data) == 1  # exact: no estimates to scatter
    noise = charts.noise_chart(service.noise(result, 0.1))
    assert [t.name for t in noise.data] == ["exact", "depolarizing p = 0.1"]
    # a 10-qubit register: only the top states are listed
    big = dataclasses.replace(state, n_qubits=10, every_state=False)
    assert [len(t.y) for t in charts.state_chart(big).data] == [len(state.encoded.top), len(state.final.top)]
