# The code points of the PDF font subset: GB2312's hanzi and symbols, Latin, Cyrillic, CJK
# punctuation, full-width forms and the few symbols evidence text uses.
cps = set()
for hi in range(0xA1, 0xF8):
    for lo in range(0xA1, 0xFF):
        try:
            cps.add(ord(bytes([hi, lo]).decode("gb2312")))
        except UnicodeDecodeError:
            pass
ranges = [(0x20, 0x7E), (0xA0, 0x17F), (0x400, 0x4FF), (0x2010, 0x205F), (0x2190, 0x2199),
          (0x25A0, 0x25FF), (0x3000, 0x303F), (0xFF00, 0xFFEF)]
for a, b in ranges:
    cps.update(range(a, b + 1))
cps.update([0x20BD, 0x2116, 0x2022, 0x2026, 0x2713, 0x2717])
print(",".join(f"U+{c:04X}" for c in sorted(cps)))
