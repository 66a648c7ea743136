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
     * 8 vectors of queries (128 with AVX-512) × 128 keys where a core's L2 holds the tile's buffers
     * at D = 128 twice over (384 KiB: Qᵀ, K, V, scores, bias and output rows), else 4 vectors × 64
     * keys (160 KiB). The per-tile work (softmax per column, packing, classification) is amortised
     * over the most FMAs while the buffers stay in L2; measured on a 2-core Zen 4 (1 MiB L2) at
     * D = 64, single thread, GFLOP per CPU-second: 64×64 ≈ 104, 128×64 ≈ 98, 64×128 ≈ 86, 128×128 ≈ 120.
     */
    public static Tiling standard() { return forCache(CpuCache.l2Bytes()); }

    /** The standard tiles for a core with {@code l2Bytes} of L2. */
    public static Tiling forCache(long l2Bytes) {
        return 2 * scratchBytes(8 * Lanes.L, 128, 128, 128) <= l2Bytes ? new Tiling(8 * Lanes.L, 128) : new Tiling(4 * Lanes.L, 64);
    }

    /**
     * Bytes of one thread's tile buffers ({@code kernel.Scratch}) at head dim d and value stride
     * vs: Qᵀ, K, V, scores, bias, output rows.
     */
    public static long scratchBytes(int tileQ, int tileKv, int d, int vs) {
        return 4L * ((long) tileQ * d + (long) tileKv * d + (long) tileKv * vs + 2L * tileQ * tileKv + (long) tileQ * vs);
    }

    /** The pattern's {@code tile:} section when it has one, else {@link #standard}. */
    public static Tiling of(Pattern pattern) {
        return pattern.tile().map(t -> new Tiling(t.q(), t.kv())).orElseGet(Tiling::standard);
    }

    @Override public String toString() { return q + " x " + kv; }
}
