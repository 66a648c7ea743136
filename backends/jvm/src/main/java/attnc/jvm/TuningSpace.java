package attnc.jvm;

import attnc.jvm.emit.CpuCache;
import attnc.jvm.emit.Tiling;
import attnc.jvm.kernel.Lanes;
import attnc.launch.Binding;
import attnc.run.TuningConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * The CPU kernel's tuning space: query and key tile sizes, the only knobs the generated class
 * has (thread scheduling and KV splitting are decided per launch by the driver). Pruned of tiles
 * larger than the sequence rounded up to a power of two (they would compute padding only), and
 * of tile pairs whose per-thread scratch outgrows this core's L2 ({@link CpuCache}), where the tile
 * no longer stays in L2 while the next is loaded.
 */
final class TuningSpace {
    static final String TILE_Q = "q", TILE_KV = "kv";
    private static final int[] SIZES = {32, 64, 128, 256};

    private TuningSpace() {}

    static List<TuningConfig> of(Binding binding) {
        int nq = binding.size("Nq"), nkv = binding.size("Nkv"), d = binding.size("D");
        int vs = (binding.size("Dv") + Lanes.L - 1) / Lanes.L * Lanes.L;
        List<TuningConfig> space = new ArrayList<>();
        for (int tileQ : SIZES) {
            if (tileQ % Lanes.L != 0 || !fits(tileQ, nq)) continue;
            for (int tileKv : SIZES) {
                if (!fits(tileKv, nkv) || Tiling.scratchBytes(tileQ, tileKv, d, vs) > CpuCache.l2Bytes()) continue;
                space.add(new TuningConfig(java.util.Map.of(TILE_Q, tileQ, TILE_KV, tileKv)));
            }
        }
        return space;
    }

    static TuningConfig knobs(Tiling tiling) {
        return new TuningConfig(java.util.Map.of(TILE_Q, tiling.q(), TILE_KV, tiling.kv()));
    }

    /** The smallest size always fits (some tile is needed); larger ones up to the rounded length. */
    private static boolean fits(int tile, int n) {
        return tile == SIZES[0] || tile <= Integer.highestOneBit(Math.max(1, n - 1)) * 2;
    }
}
