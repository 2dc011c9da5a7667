"""The simulated quantum devices the app and the commands offer: names and facts, without importing Qiskit.

Each is one of qiskit's `fake_provider` backends: a snapshot of a real IBM device's calibration (coupling map,
basis gates, gate errors and durations, T1/T2, readout errors) taken on the date given, which qiskit-aer turns
into a noise model (`device_noise.py`). Nothing here is a run on hardware. They are named by qiskit's own
backend names. `tests/inference/test_device_noise.py` checks these facts against qiskit's snapshots.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FakeDevice:
    name: str  # qiskit's backend name, as the view and the commands spell it
    qubits: int
    processor: str  # IBM's processor family and revision
    snapshot: str  # the calibration snapshot's date (its properties' last_update_date)
    qiskit_class: str  # the class in qiskit.providers.fake_provider
    ibm_name: str  # the IBM Quantum device the snapshot was taken of

    @property
    def label(self) -> str:
        return f"{self.name} · {self.qubits} qubits · {self.processor} · calibration of {self.snapshot}"


# A short list of devices with at least 8 qubits; the first 27-qubit one is the default.
DEVICES: tuple[FakeDevice, ...] = (
    FakeDevice("fake_kolkata", 27, "Falcon r5.11", "2021-12-09", "FakeKolkata", "ibmq_kolkata"),
    FakeDevice("fake_cairo", 27, "Falcon r5.11", "2021-12-09", "FakeCairo", "ibm_cairo"),
    FakeDevice("fake_montreal", 27, "Falcon r4", "2021-03-15", "FakeMontreal", "ibmq_montreal"),
    FakeDevice("fake_guadalupe", 16, "Falcon r4P", "2021-04-20", "FakeGuadalupe", "ibmq_guadalupe"),
    FakeDevice("fake_washington", 127, "Eagle r1", "2022-04-12", "FakeWashington", "ibm_washington"),
)
DEFAULT_DEVICE = "fake_kolkata"
BY_NAME = {d.name: d for d in DEVICES}


def offered(n_qubits: int) -> tuple[FakeDevice, ...]:
    """The listed devices with enough qubits for an n-qubit circuit (a smaller one is never offered)."""
    return tuple(d for d in DEVICES if d.qubits >= n_qubits)
