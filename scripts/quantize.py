#!/usr/bin/env python3
"""Re-quantise a GGUF model into a single tensor type, without compiling.

gguf-py reads and dequantises each tensor; ggml's own ggml_quantize_chunk,
exported by the xllamacpp wheel's shared library, quantises it again.
Usage: quantize.py SRC.gguf DST.gguf TYPE   (TYPE: f16, q8_0, q4_0, q4_K, q3_K, q2_K)

The result is a single-type file, not one of llama-quantize's `_M` mixtures:
1-D tensors (norms, biases) stay F32, and rows whose width is not a multiple
of the type's block fall back to Q4_0 for K-quants, Q8_0 otherwise (F16 when
not even that fits).
"""
import ctypes
import glob
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T

TYPES = {"f16": T.F16, "q8_0": T.Q8_0, "q4_0": T.Q4_0, "q4_K": T.Q4_K, "q3_K": T.Q3_K, "q2_K": T.Q2_K}
# general.file_type values (llama_ftype) for the file's header.
FTYPES = {T.F16: 1, T.Q8_0: 7, T.Q4_0: 2, T.Q4_K: 15, T.Q3_K: 12, T.Q2_K: 10}


def ggml():
    import xllamacpp
    libs = glob.glob(os.path.join(os.path.dirname(xllamacpp.__file__), "*.so"))
    lib = ctypes.CDLL(libs[0])
    f = lib.ggml_quantize_chunk
    f.restype = ctypes.c_size_t
    f.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                  ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
    return f


def block_fits(qtype, width):
    block, _ = gguf.GGML_QUANT_SIZES[qtype]
    return width % block == 0


def quantize(chunk, rows, qtype):
    """rows: float32 array (nrows, width) → raw bytes in ggml's layout."""
    if qtype == T.F32:
        return rows.astype(np.float32)
    if qtype == T.F16:
        return rows.astype(np.float16)
    nrows, width = rows.shape
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    out = np.zeros((nrows, width // block * size), dtype=np.uint8)
    src = np.ascontiguousarray(rows, dtype=np.float32)
    written = chunk(int(qtype), src.ctypes.data, out.ctypes.data, 0, nrows, width, None)
    assert written == out.nbytes, (written, out.nbytes)
    return out


def main():
    src, dst, name = sys.argv[1], sys.argv[2], sys.argv[3]
    target = TYPES[name]
    chunk = ggml()
    reader = gguf.GGUFReader(src)
    arch = reader.fields[gguf.Keys.General.ARCHITECTURE].contents()
    writer = gguf.GGUFWriter(dst, arch)
    for field in reader.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue
        if field.name == gguf.Keys.General.FILE_TYPE:
            continue
        vtype = field.types[0]
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), vtype, sub_type=sub)
    writer.add_file_type(FTYPES[target])
    counts = {}
    for t in reader.tensors:
        data = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        shape = data.shape  # numpy order: (..., rows, width)
        width = shape[-1]
        if data.ndim == 1:
            qtype = T.F32
        elif target in (T.F16,) or block_fits(target, width):
            qtype = target
        elif target in (T.Q4_K, T.Q3_K, T.Q2_K) and block_fits(T.Q4_0, width):
            qtype = T.Q4_0
        elif block_fits(T.Q8_0, width):
            qtype = T.Q8_0
        else:
            qtype = T.F16
        raw = quantize(chunk, data.reshape(-1, width), qtype)
        # Quantised tensors are passed in their byte shape, which gguf-py
        # turns back into the element shape.
        raw = raw.reshape(shape[:-1] + (raw.shape[-1],))
        writer.add_tensor(t.name, raw, raw_dtype=qtype)
        counts[qtype.name] = counts.get(qtype.name, 0) + 1
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    print(f"{dst}: {', '.join(f'{n} {k}' for k, n in sorted(counts.items()))} tensors")


if __name__ == "__main__":
    main()
