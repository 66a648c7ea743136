package attnc.ptx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.front.Frontend;
import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.lower.LowerPattern;
import attnc.lower.LoweredPattern;
import attnc.pass.Passes;
import attnc.ptx.emit.Decode;
import attnc.ptx.emit.KernelConfig;
import attnc.ptx.emit.PtxModule;
import attnc.ptx.emit.Schedule;
import attnc.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** MLA's latent decode ({@link Schedule#MMA_SYNC_COLUMNS}): when a launch takes it, its tilings, and its modules for every pattern. */
class LatentDecodeTest {

    @TestFactory
    List<DynamicTest> everyPatternsLatentDecodeAssembles() {
        List<DynamicTest> tests = new ArrayList<>();
        List<Path> files = Patterns.files();
        for (int i = 0; i < files.size(); i++) {
            Path file = files.get(i);
            Decode mode = new Decode[] {Decode.SPLIT_PACKED, Decode.SPLIT, Decode.SPLIT_PACKED_PAGED, Decode.SPLIT_PAGED}[i % 4];
            int slices = 1 + i % GpuDecode.LATENT_ROW_SLICES;
            tests.add(DynamicTest.dynamicTest(file.getFileName() + " " + mode + " " + slices + " row slices", () -> {
                Pattern pattern = Patterns.compile(file);
                if (pattern == null) return;
                LoweredPattern lowered = LowerPattern.lower(Passes.optimize(pattern, Map.of()));
                KernelConfig config = KernelConfig.latentDecode(90, DType.BFLOAT16, 576, 512, mode, slices);
                String text = PtxModule.render(lowered, config).text();
                assertTrue(text.contains(".maxntid 256, 1, 1"), "eight warps");
                assertFalse(text.contains("%v_dst"), "V is read from K's stage, never copied");
                assertEquals(mode.pages(), text.contains("p_block_table"), "a paged module takes the block table");
                assertTrue(text.contains("the tile's row maxima over every warp's keys") == lowered.writesLse(), "softmax rows share their maxima");
                PtxAssemblesTest.assemble(text, 90);
            }));
        }
        return tests;
    }

    @Property(tries = 200)
    void everyLatentTilingFitsSm90(@ForAll @IntRange(min = 9, max = 18) int dUnits, @ForAll @IntRange(min = 1, max = 4) int dvUnits,
            @ForAll @IntRange(min = 1, max = 64) int rows, @ForAll boolean packs) {
        int d = 32 * dUnits, dv = 128 * dvUnits;
        if (dv > d) return;
        KernelConfig config = KernelConfig.latentDecode(90, DType.BFLOAT16, d, dv, packs ? Decode.SPLIT_PACKED : Decode.SPLIT,
                Math.min(GpuDecode.LATENT_ROW_SLICES, (rows + 15) / 16));
        assertNull(config.limitExceeded(90), config.tag());
        assertEquals(0, config.vStageBytes(), "no V stages");
        assertEquals(8, config.warpKeyCount());
        assertEquals(dv / 8, config.warpValueDim());
        assertEquals(config.stages(), config.tilesAhead(), "each stage refilled once its tile is used");
    }

    @Test
    void aFourthRowSliceOrANonLatentShapeIsRefused() {
        assertNotNull(KernelConfig.latentDecode(90, DType.BFLOAT16, 576, 512, Decode.SPLIT, 4).limitExceeded(90), "four slices pass 227 KiB");
        assertNotNull(KernelConfig.latentDecode(80, DType.BFLOAT16, 576, 512, Decode.SPLIT, 1).limitExceeded(80), "sm_80's 163 KiB");
        assertThrows(IllegalArgumentException.class, () -> KernelConfig.latentDecode(90, DType.BFLOAT16, 576, 640, Decode.SPLIT, 1), "Dv > D");
        assertThrows(IllegalArgumentException.class, () -> KernelConfig.latentDecode(90, DType.BFLOAT16, 608, 512, Decode.SPLIT, 1), "D > 576");
        assertThrows(IllegalArgumentException.class, () -> KernelConfig.latentDecode(90, DType.BFLOAT16, 576, 448, Decode.SPLIT, 1), "Dv / 8 not 16s");
        assertThrows(IllegalArgumentException.class, () -> KernelConfig.latentDecode(90, DType.BFLOAT16, 576, 512, Decode.NONE, 1), "not split");
    }

    @Test
    void onlyVTheViewOfKsFirstColumnsIsLatent() {
        Tensor k = Tensor.allocate(DType.BFLOAT16, 2, 1, 8, 64);
        Tensor view = k.leadingColumns(32);
        assertTrue(GpuDecode.valuesInKeys(k, view));
        assertTrue(GpuDecode.valuesInKeys(k, k));
        assertFalse(GpuDecode.valuesInKeys(k, Tensor.allocate(DType.BFLOAT16, 2, 1, 8, 32)), "a tensor of its own");
        assertFalse(GpuDecode.valuesInKeys(k, k.view(new int[] {2, 1, 8, 32}, k.strides(), 32)), "K's last columns");
        assertFalse(GpuDecode.valuesInKeys(k, k.view(new int[] {2, 1, 4, 32}, k.strides(), 0)), "fewer keys");
    }

    @Test
    void headDimsPastTheDecodeKernelsTakeTheLatentOneOnSm90Only() throws Exception {
        assertTrue(GpuDecode.latent(90, 576, 512, true));
        assertFalse(GpuDecode.latent(90, 576, 512, false), "V a tensor of its own");
        assertFalse(GpuDecode.latent(80, 576, 512, true));
        assertFalse(GpuDecode.latent(90, 256, 256, true), "the decode kernel takes 256");
        assertFalse(GpuDecode.latent(90, 576, 448, true), "Dv not a multiple of 128");
        assertFalse(GpuDecode.latent(90, 640, 512, true), "past 576");
        LoweredPattern causal = lower("mask: q >= kv");
        LoweredPattern alibi = lower("input slopes: float32[H]\nmask: q >= kv\nscore: s - slopes[h] * float(q - kv)");
        KernelConfig packed = GpuDecode.latentConfig(causal, 90, DType.BFLOAT16, binding(128, 1, 1, 576, 512), false);
        assertEquals(Decode.SPLIT_PACKED, packed.decode());
        assertEquals(GpuDecode.LATENT_ROW_SLICES, packed.mTiles(), "128 heads in blocks of 48 rows");
        assertEquals(1, GpuDecode.latentConfig(causal, 90, DType.BFLOAT16, binding(16, 1, 1, 576, 512), false).mTiles());
        assertEquals(Decode.SPLIT, GpuDecode.latentConfig(alibi, 90, DType.BFLOAT16, binding(16, 1, 1, 576, 512), false).decode(), "the score reads h");
        assertEquals(Decode.SPLIT_PACKED_PAGED, GpuDecode.latentConfig(causal, 90, DType.BFLOAT16, binding(16, 1, 1, 576, 512), true).decode());
        assertEquals(Decode.SPLIT, GpuDecode.latentConfig(causal, 90, DType.BFLOAT16, binding(16, 1, 20, 576, 512), false).decode(),
                "more queries than one packed block's list covers");
    }

    @Test
    void splitsMakeTheWavesEndFullest() {
        assertEquals(2, GpuDecode.wavesSplits(192, 132, 64), "1.5 waves of whole blocks against 2");
        assertEquals(1, GpuDecode.wavesSplits(264, 132, 64), "two full waves already");
        assertEquals(8, GpuDecode.wavesSplits(133, 132, 64), "9 waves of eighths");
        assertEquals(1, GpuDecode.wavesSplits(192, 132, 1), "one kv tile");
        assertEquals(8, GpuDecode.wavesSplits(48, 132, 64), "three waves of eighths, not one of halves with 36 multiprocessors idle");
        assertEquals(2, GpuDecode.wavesSplits(64, 132, 64), "one wave of 128 blocks: more waves fill no better");
        assertEquals(16, GpuDecode.wavesSplits(8, 132, 64), "one full wave of 128");
        assertEquals(5, GpuDecode.wavesSplits(8, 132, 5), "no more splits than kv tiles");
    }

    /**
     * The split rule never leaves the device emptier than one wave of whole blocks did: its blocks'
     * waves, each 1/s as long, take no longer than the old count's, within its bounds.
     */
    @Property(tries = 500)
    void splitsNeverTakeMoreWavesThanOneFullWave(@ForAll @IntRange(min = 1, max = 2000) int blocks, @ForAll @IntRange(min = 1, max = 528) int resident,
            @ForAll @IntRange(min = 1, max = 4096) int kvTiles) {
        int s = GpuDecode.wavesSplits(blocks, resident, kvTiles);
        int old = Math.max(1, Math.min(resident / blocks, kvTiles));
        assertTrue(s >= 1 && s <= kvTiles && s <= Math.max(resident / blocks, GpuDecode.MAX_SPLITS_PAST_A_WAVE), s + " splits");
        long waves = ((long) blocks * s + resident - 1) / resident, oldWaves = ((long) blocks * old + resident - 1) / resident;
        assertTrue(waves * old <= oldWaves * s, blocks + " blocks on " + resident + ": " + s + " splits take " + waves + " waves against " + old + "'s " + oldWaves);
    }

    private static LoweredPattern lower(String source) throws Exception {
        return LowerPattern.lower(Passes.optimize(Frontend.compile("p", source), Map.of()));
    }

    private static Binding binding(int heads, int kvHeads, int queries, int d, int dv) {
        Map<String, Integer> sizes = new HashMap<>(Map.of("B", 2, "H", heads, "Hkv", kvHeads, "Nq", queries, "Nkv", 4096, "D", d, "Dv", dv));
        sizes.put("Q0", 4096 - queries);
        return new Binding(Map.copyOf(sizes), 4096 - queries, Map.of());
    }
}
