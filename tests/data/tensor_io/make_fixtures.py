#!/usr/bin/env python3
# Regenerates the NumPy-made fixtures of tests/models/test_tensor_io.cpp (run with Debian's python3-numpy).
import io, os, zipfile, numpy as np
here = os.path.dirname(os.path.abspath(__file__))
a = np.arange(6, dtype=np.float32).reshape(2, 3) / 4
b = np.array([-1, 2, 300], dtype=np.int16)
c = np.array([0.5, -2.0, 65504.0, 2.0**-24], dtype=np.float16)
np.savez(os.path.join(here, "savez.npz"), **{"conv1.weight": a, "b": b, "c": c})
np.savez_compressed(os.path.join(here, "savez_compressed.npz"), **{"conv1.weight": a, "b": b, "c": c})
for version in [(2, 0), (3, 0)]:
    with open(os.path.join(here, f"v{version[0]}.npy"), "wb") as f:
        np.lib.format.write_array(f, a, version=version)
np.save(os.path.join(here, "fortran.npy"), np.asfortranarray(a))
np.save(os.path.join(here, "bigendian.npy"), a.astype(">f4"))
np.save(os.path.join(here, "u8.npy"), np.array([[0, 255]], dtype=np.uint8))
# Written to an unseekable stream, zipfile puts the sizes in data descriptors after each member (flag bit 3),
# with zip64 descriptors forced for the first member.
class Unseekable(io.RawIOBase):
    def __init__(self, f): self.f = f
    def writable(self): return True
    def write(self, b): return self.f.write(b)
with open(os.path.join(here, "descriptor.npz"), "wb") as raw:
    with zipfile.ZipFile(Unseekable(raw), "w", compression=zipfile.ZIP_DEFLATED) as z:
        with z.open("conv1.weight.npy", "w", force_zip64=True) as m:
            np.lib.format.write_array(m, a)
        with z.open("b.npy", "w") as m:
            np.lib.format.write_array(m, b)
