package attnc.analysis;

/**
 * A set of elements the analysis reasons about at once: every (b, h, q, kv) with each index in its
 * closed range. A tile is a box with one b and one h; the KV-range search uses boxes spanning
 * many KV tiles. Bounds are longs so that sums of bounds never overflow.
 */
record Box(long bLo, long bHi, long hLo, long hHi, long qLo, long qHi, long kvLo, long kvHi) {

    public Box {
        if (bLo > bHi || hLo > hHi || qLo > qHi || kvLo > kvHi) throw new IllegalArgumentException("empty box " + this);
    }

    static Box tile(int b, int h, int qLo, int qHi, int kvLo, int kvHi) {
        return new Box(b, b, h, h, qLo, qHi, kvLo, kvHi);
    }

    /** Smallest and largest value of {@code a·q + c·kv} over the box. */
    long formMin(long a, long c) {
        return (a >= 0 ? a * qLo : a * qHi) + (c >= 0 ? c * kvLo : c * kvHi);
    }

    long formMax(long a, long c) {
        return (a >= 0 ? a * qHi : a * qLo) + (c >= 0 ? c * kvHi : c * kvLo);
    }
}
