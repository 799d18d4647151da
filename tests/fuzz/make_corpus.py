#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets to tests/fuzz/corpus/.

The files are committed; this script says what each one is and makes them
again (python3, standard library only).  Small valid files of every kind the
readers accept, and a few near-valid ones the fuzzer can mutate into either.
"""
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def put(kind, name, data):
    folder = os.path.join(HERE, "corpus", kind)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


# ---- .npy -------------------------------------------------------------------

def npy(header, payload, major=1, align=64):
    """A .npy file: header padded with spaces and '\\n' so the data start at a
    multiple of align, as NumPy writes them."""
    pre = 10 if major == 1 else 12
    text = header.encode("latin1")
    total = (pre + len(text) + 1 + align - 1) // align * align
    text += b" " * (total - pre - len(text) - 1) + b"\n"
    size = struct.pack("<H", len(text)) if major == 1 else struct.pack("<I", len(text))
    return b"\x93NUMPY" + bytes([major, 0]) + size + text + payload


def dict_text(descr, shape, fortran=False):
    dims = ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "")
    return "{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }" % (
        descr, "True" if fortran else "False", dims)


def npy_corpus():
    put("npy", "f8_1d_v1.npy", npy(dict_text("<f8", [3]), struct.pack("<3d", 1.5, -2, 0.25)))
    put("npy", "f4_2x3_v2.npy", npy(dict_text("<f4", [2, 3]), struct.pack("<6f", *range(6)), 2))
    put("npy", "f8_big_fortran_v3.npy",
        npy(dict_text(">f8", [2, 2], True), struct.pack(">4d", 1, 2, 3, 4), 3))
    put("npy", "i2_2x2x2.npy", npy(dict_text("<i2", [2, 2, 2]), struct.pack("<8h", *range(-4, 4))))
    put("npy", "u1_4.npy", npy(dict_text("|u1", [4]), bytes([0, 1, 128, 255])))
    put("npy", "b1_3.npy", npy(dict_text("|b1", [3]), bytes([1, 0, 2])))
    put("npy", "i8_big.npy", npy(dict_text(">i8", [2]), struct.pack(">2q", -(1 << 62), 7)))
    put("npy", "u4_fortran.npy", npy(dict_text("<u4", [1, 3], True), struct.pack("<3I", 1, 2, 3)))
    put("npy", "u8_4d.npy", npy(dict_text("<u8", [1, 1, 2, 1]), struct.pack("<2Q", 1 << 63, 3)))
    put("npy", "i1.npy", npy(dict_text("|i1", [2]), bytes([0x80, 0x7f])))
    put("npy", "u2_big.npy", npy(dict_text(">u2", [2]), struct.pack(">2H", 1, 65535)))
    put("npy", "f4_big_2x1.npy",
        npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 1), }",
            struct.pack(">2f", 0.5, -1e30)))
    put("npy", "native_order.npy", npy(dict_text("=f8", [1]), struct.pack("=d", 2.0)))
    put("npy", "scalar_0d.npy", npy(dict_text("<f8", []), struct.pack("<d", 3.0)))
    put("npy", "empty_0x3.npy", npy(dict_text("<f8", [0, 3]), b""))
    # Python 2 spelling: double quotes, a long suffix, keys in another order
    put("npy", "py2_spelling.npy",
        npy('{"shape": (2L,), "fortran_order": False, "descr": "<i4"}',
            struct.pack("<2i", -1, 1)))
    # near-valid: the data one entry short; a structured dtype
    put("npy", "truncated.npy", npy(dict_text("<f8", [4]), struct.pack("<3d", 1, 2, 3)))
    put("npy", "structured.npy",
        npy("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }",
            struct.pack("<d", 1)))


# ---- PNG --------------------------------------------------------------------

def chunk(kind, body):
    return (struct.pack(">I", len(body)) + kind + body +
            struct.pack(">I", zlib.crc32(kind + body) & 0xffffffff))


CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4),
         (1, 0, 2, 2), (0, 1, 1, 2)]


def pack_row(samples, depth):
    """Samples of one row as PNG stores them, behind filter byte 0."""
    if depth == 16:
        return b"\0" + b"".join(struct.pack(">H", s) for s in samples)
    if depth == 8:
        return b"\0" + bytes(samples)
    bits, out, acc, n = depth, bytearray(), 0, 0
    for s in samples:
        acc = acc << bits | s
        n += bits
        if n == 8:
            out.append(acc)
            acc = n = 0
    if n:
        out.append(acc << (8 - n))
    return b"\0" + bytes(out)


def png(width, height, depth, color, pixels, extra=b"", interlace=False):
    """pixels[y][x] is a tuple of samples."""
    ch = CHANNELS[color]
    raw = b""
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    for x0, y0, dx, dy in passes:
        xs = range(x0, width, dx)
        for y in range(y0, height, dy):
            if xs:
                raw += pack_row([s for x in xs for s in pixels[y][x][:ch]], depth)
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 1 if interlace else 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra +
            chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def grid(width, height, f):
    return [[f(x, y) for x in range(width)] for y in range(height)]


def png_corpus():
    put("png", "gray1.png", png(8, 2, 1, 0, grid(8, 2, lambda x, y: ((x + y) % 2,))))
    put("png", "gray8.png", png(4, 3, 8, 0, grid(4, 3, lambda x, y: (20 * x + 80 * y,))))
    put("png", "gray16.png", png(3, 2, 16, 0, grid(3, 2, lambda x, y: (30000 * y + 9000 * x,))))
    put("png", "gray4_interlaced.png",
        png(5, 5, 4, 0, grid(5, 5, lambda x, y: ((x * 3 + y) % 16,)), interlace=True))
    put("png", "gray8_trns.png",
        png(3, 3, 8, 0, grid(3, 3, lambda x, y: (100 * (x % 3),)),
            chunk(b"tRNS", struct.pack(">H", 100))))
    put("png", "gray_alpha8.png", png(2, 2, 8, 4, grid(2, 2, lambda x, y: (200, 127 * (x + y)))))
    palette = chunk(b"PLTE", bytes([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255]))
    put("png", "palette8_trns.png",
        png(4, 2, 8, 3, grid(4, 2, lambda x, y: ((x + y) % 4,)),
            palette + chunk(b"tRNS", bytes([0, 128]))))
    put("png", "palette2.png", png(5, 2, 2, 3, grid(5, 2, lambda x, y: (x % 4,)), palette))
    put("png", "rgb16.png",
        png(2, 2, 16, 2, grid(2, 2, lambda x, y: (65535 * x, 65535 * y, 1000))))
    put("png", "rgba8.png",
        png(3, 3, 8, 6, grid(3, 3, lambda x, y: (80 * x, 80 * y, 200, 255 - 100 * x))))
    # near-valid: cut inside the image data
    whole = png(4, 3, 8, 2, grid(4, 3, lambda x, y: (10 * x, 20 * y, 30)))
    put("png", "truncated.png", whole[:len(whole) - 20])


# ---- graphs -----------------------------------------------------------------

def graph(n, edges, fold=False, scales=None, null_ends=False):
    """The input format of fuzz_graph.c: vertex count, flags, then edges."""
    flags = (1 if scales is not None else 0) | (2 if fold else 0) | (4 if null_ends else 0)
    out = struct.pack("<HB", n, flags)
    for k, (a, b) in enumerate(edges):
        out += struct.pack("<HH", a, b)
        if scales is not None:
            out += bytes([scales[k]])
    return out


def graph_corpus():
    put("graph", "path4", graph(4, [(0, 1), (1, 2), (2, 3)]))
    put("graph", "triangle_scales", graph(3, [(0, 1), (1, 2), (2, 0)], scales=[16, 32, 200]))
    grid3 = [(y * 3 + x, y * 3 + x + 1) for y in range(3) for x in range(2)]
    grid3 += [(y * 3 + x, (y + 1) * 3 + x) for y in range(2) for x in range(3)]
    put("graph", "grid3x3_fold", graph(9, grid3, fold=True))
    put("graph", "star8", graph(8, [(0, v) for v in range(1, 8)]))
    put("graph", "parallel_edges", graph(3, [(0, 1), (1, 0), (1, 2), (0, 1)]))
    put("graph", "disconnected", graph(4, [(0, 1), (2, 3)]))
    put("graph", "self_loop", graph(3, [(0, 1), (1, 1), (1, 2)]))
    put("graph", "out_of_range", graph(3, [(0, 1), (1, 3)]))
    put("graph", "bad_scale", graph(2, [(0, 1)], scales=[2]))
    put("graph", "no_edges", graph(2, [], null_ends=True))
    put("graph", "one_vertex", graph(1, []))


if __name__ == "__main__":
    npy_corpus()
    png_corpus()
    graph_corpus()
