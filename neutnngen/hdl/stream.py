"""Payload of the valid/ready streams that join the stages of a generated design.

One *beat* is one wave: a volley (``lines`` spike times of ``tb`` bits and one spike bit
per line, a clear spike bit = NONE) plus the *sidebands* that travel with the wave to the
stage that uses them: the proximal lines of this and every later layer (time and spike
bits, concatenated layer by layer) and, in ``learn`` mode, ``learn_en``, ``label``,
``label_valid`` and (with an M4 schedule) ``mu_shift``. A stage consumes its own sidebands and forwards the later ones in its
output register. Streams follow ``amaranth.lib.stream`` (``payload``, ``valid``,
``ready``; a transfer happens in a cycle with ``valid & ready``; the producer holds the
payload while ``valid & ~ready``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Beat:
    lines: int  # volley lines
    tb: int  # bits of a volley time
    prox: int = 0  # proximal lines carried (this and later layers)
    tb_prox: int = 0  # bits of a proximal time
    learn: bool = False  # carries learn_en
    label_bits: int = 0  # carries label (and label_valid) when > 0
    mu_bits: int = 0  # carries mu_shift (M4) when > 0

    def fields(self) -> dict[str, int]:
        f = {"time": self.lines * self.tb, "spike": self.lines}
        if self.prox:
            f["prox_time"] = self.prox * self.tb_prox
            f["prox_spike"] = self.prox
        if self.learn:
            f["learn_en"] = 1
        if self.label_bits:
            f["label"] = self.label_bits
            f["label_valid"] = 1
        if self.mu_bits:
            f["mu_shift"] = self.mu_bits
        return f

    @property
    def bits(self) -> int:
        return sum(self.fields().values())

    def layout(self):
        """``amaranth.lib.data.StructLayout`` of the payload."""
        from amaranth.lib import data

        return data.StructLayout(self.fields())

    def signature(self):
        """``amaranth.lib.stream.Signature`` of a stream of these beats."""
        from amaranth.lib import stream

        return stream.Signature(self.layout())
