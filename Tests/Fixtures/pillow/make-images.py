"""Writes images of the kinds covers come in, each beside Pillow's RGB pixels for it.

usage: make-images.py FOLDER. For each image FILE it writes FILE and FILE.rgb (Pillow's
pixels for it, row-major RGB: the file decoded, then converted to RGB), and lists the file names
in FOLDER/names.txt.
"""
import struct
import sys
import zlib
from pathlib import Path

from PIL import Image

folder = Path(sys.argv[1])


def base(mode="RGB", size=(37, 23)):
    """A gradient with detail in every channel, so that a wrong conversion shows."""
    image = Image.new("RGB", size)
    image.putdata([((x * 7) % 256, (y * 11) % 256, (x * y * 3) % 256) for y in range(size[1]) for x in range(size[0])])
    return image.convert(mode) if mode != "RGB" else image


def save(name, image, suffix, **options):
    path = folder / f"{name}.{suffix}"
    image.save(path, **options)
    pillow_rgb(path, folder / f"{name}.{suffix}.rgb")
    names.append(f"{name}.{suffix}")


def pillow_rgb(path, target):
    decoded = Image.open(path)
    decoded.load()
    target.write_bytes(decoded.convert("RGB").tobytes())


names = []
save("cmyk", base("CMYK"), "jpg", quality=95)
save("grayscale", base("L"), "jpg", quality=95)
save("progressive", base(), "jpg", quality=90, progressive=True)
exif = Image.Exif()
exif[0x0112] = 6  # orientation: rotate 90°; decoders that follow Pillow's open() do not rotate
save("exif-rotated", base(), "jpg", quality=90, exif=exif.tobytes())
save("palette", base().quantize(colors=37), "png")
save("grayscale", base("L"), "png")
save("grayscale-alpha", base("LA"), "png")
save("rgba", base("RGBA"), "png")
# A 16-bit RGB PNG (Pillow writes none; made by hand): Pillow reads it as 8-bit RGB from the high bytes.
width, height = 19, 13
rows = b"".join(
    b"\x00" + b"".join(struct.pack(">HHH", (x * 3001) % 65536, (y * 5003) % 65536, (x * y * 257) % 65536) for x in range(width))
    for y in range(height))
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
png16 = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)) \
    + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
(folder / "rgb16.png").write_bytes(png16)
pillow_rgb(folder / "rgb16.png", folder / "rgb16.png.rgb")
names.append("rgb16.png")
# An Adam7-interlaced RGB PNG (Pillow writes none either): seven passes of a sub-grid each, one
# zlib stream, every scanline with filter 0.
width, height = 21, 17
def pixel(x, y):
    return bytes(((x * 13) % 256, (y * 17) % 256, ((x + y) * 29) % 256))
passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
interlaced_rows = b"".join(
    b"\x00" + b"".join(pixel(x, y) for x in range(x0, width, dx))
    for x0, y0, dx, dy in passes if x0 < width
    for y in range(y0, height, dy))
interlaced = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 1)) \
    + chunk(b"IDAT", zlib.compress(interlaced_rows)) + chunk(b"IEND", b"")
(folder / "interlaced.png").write_bytes(interlaced)
pillow_rgb(folder / "interlaced.png", folder / "interlaced.png.rgb")
names.append("interlaced.png")
(folder / "names.txt").write_text("\n".join(names) + "\n")
