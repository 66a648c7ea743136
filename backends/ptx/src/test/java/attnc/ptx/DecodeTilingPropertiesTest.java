package attnc.ptx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.ir.DType;
import attnc.ptx.emit.Decode;
import attnc.ptx.emit.KernelConfig;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/** The decode tilings {@link KernelConfig#forDecode} and {@link KernelConfig#withWarpKeys} derive, over every head dim the decode path takes. */
class DecodeTilingPropertiesTest {
    /** sm_86's shared memory, which the sm_80 configurations must fit as well. */
    private static final int SM86_SHARED = 101_376;

    @Property(tries = 400)
    void everyDecodeTilingFitsAndKeepsItsTilesInFlight(@ForAll @IntRange(min = 1, max = 16) int dUnits, @ForAll @IntRange(min = 1, max = 16) int dvUnits,
            @ForAll boolean hopper, @ForAll @IntRange(min = 1, max = 4) int modeIndex, @ForAll boolean warpKeys) {
        int sm = hopper ? 90 : 80, d = 16 * dUnits, dv = 16 * dvUnits;
        if (Math.max(d, dv) > GpuDecode.maxHeadDim(sm)) return;
        Decode mode = Decode.values()[modeIndex];
        KernelConfig config = KernelConfig.of(sm, DType.BFLOAT16, d, dv).forDecode(mode).withWarpKeys(warpKeys);
        String label = config.tag();
        assertNull(config.limitExceeded(sm), label);
        if (!hopper) assertTrue(config.sharedBytes() <= SM86_SHARED, label + ": " + config.sharedBytes() + " B");
        assertEquals(mode, config.decode(), label);
        assertEquals(warpKeys, config.warpKeys(), label);
        if (warpKeys) assertEquals(16, config.warpKeyCount(), label + ": 16 keys a warp");
        boolean refills = warpKeys && !mode.pages();
        assertEquals(refills ? config.stages() : config.stages() - 1, config.tilesAhead(), label);
        assertEquals(refills && hopper ? 3 : 2, config.stages(), label);
        // The tiling follows the flag alone: setting it twice over gives the same kernel.
        assertEquals(config, config.withWarpKeys(!warpKeys).withWarpKeys(warpKeys), label);
        assertEquals(config, KernelConfig.of(sm, DType.BFLOAT16, d, dv).forDecode(Decode.SPLIT).withWarpKeys(warpKeys).forDecode(mode), label);
    }
}
