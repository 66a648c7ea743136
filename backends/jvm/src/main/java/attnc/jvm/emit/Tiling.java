package attnc.jvm.emit;

import attnc.ir.Pattern;
import attnc.jvm.kernel.Lanes;

/**
 * Query × key tile sizes of a generated CPU kernel, checked here and nowhere else: queries are
 * the vector lanes, so tile q is a whole number of vectors; the FMA micro-kernels take keys four
 * at a time. A pattern's {@code tile:} section is honoured as it is, or refused with this message.
 */
public record Tiling(int q, int kv) {

    public Tiling {
        if (q <= 0 || q % Lanes.L != 0) {
            throw new IllegalArgumentException("tile q = " + q + ": the JVM backend needs a positive multiple of " + Lanes.L
                    + " (one vector of float lanes on this CPU)");
        }
        if (kv <= 0 || kv % 4 != 0) throw new IllegalArgumentException("tile kv = " + kv + ": the JVM backend needs a positive multiple of 4");
    }

    /**
     * 8 vectors of queries (128 with AVX-512) × 128 keys: the per-tile work (softmax per column,
     * packing, classification) is amortised over the most FMAs while the tile's buffers still fit
     * in L2; measured on a 2-core AVX-512 machine at D = 64 (single thread, GFLOP per CPU-second):
     * 64×64 ≈ 104, 128×64 ≈ 98, 64×128 ≈ 86, 128×128 ≈ 120.
     */
    public static Tiling standard() { return new Tiling(8 * Lanes.L, 128); }

    /** The pattern's {@code tile:} section when it has one, else {@link #standard}. */
    public static Tiling of(Pattern pattern) {
        return pattern.tile().map(t -> new Tiling(t.q(), t.kv())).orElseGet(Tiling::standard);
    }

    /** One vector of queries, the same keys: the class for launches with few queries (decode). */
    public Tiling narrow() { return new Tiling(Lanes.L, kv); }

    @Override public String toString() { return q + " x " + kv; }
}
