"""Reading a whole line (phone numbers, kana words): segmentation, the lattice, the dictionary and the reader."""
