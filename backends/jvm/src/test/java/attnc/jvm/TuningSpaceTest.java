package attnc.jvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.jvm.emit.CpuCache;
import attnc.jvm.emit.Tiling;
import attnc.launch.Binding;
import attnc.run.TuningConfig;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The tuning space's pruning rules (agreement of each configuration: {@link DifferentialPropertiesTest}). */
class TuningSpaceTest {
    private static Binding binding(int nq, int nkv, int d) {
        return new Binding(Map.of("B", 1, "H", 16, "Hkv", 16, "Nq", nq, "Nkv", nkv, "D", d, "Dv", d), 0, Map.of());
    }

    private static TuningConfig tiles(int q, int kv) { return new TuningConfig(Map.of("q", q, "kv", kv)); }

    @Test
    void longSequencesOfferEveryTileUpToTheScratchLimit() {
        List<TuningConfig> space = TuningSpace.of(binding(2048, 2048, 64));
        assertEquals(16, space.size(), space.toString());
        assertTrue(space.contains(tiles(128, 128)));
        // Pruned by this core's L2 (1 MiB on a Zen 4, 2 MiB on the Xeons here), so the rule is checked against the host's.
        List<TuningConfig> wide = TuningSpace.of(binding(2048, 2048, 256));
        long needs = Tiling.scratchBytes(256, 256, 256, 256);
        assertEquals(needs <= CpuCache.l2Bytes(), wide.contains(tiles(256, 256)), "256x256 at D=256 needs " + needs + " bytes, L2 " + CpuCache.l2Bytes());
        assertTrue(wide.contains(tiles(32, 32)));
    }

    @Test
    void tilesLongerThanTheRoundedSequenceArePruned() {
        assertEquals(List.of(tiles(32, 32)), TuningSpace.of(binding(1, 20, 64)));
        List<TuningConfig> decode = TuningSpace.of(binding(1, 32768, 64));
        assertEquals(4, decode.size(), decode.toString());
        assertTrue(TuningSpace.of(binding(100, 100, 64)).contains(tiles(128, 128)), "100 rounds up to 128");
        assertFalse(TuningSpace.of(binding(100, 100, 64)).contains(tiles(256, 32)));
    }
}
