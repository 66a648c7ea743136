package attnc.ptx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** The split-KV decode modules (attention entry writing partials, and the merge) assemble for every pattern; packing is offered only where it is sound. */
class DecodeModuleTest {

    @TestFactory
    List<DynamicTest> everyDecodeModuleAssembles() {
        List<DynamicTest> tests = new ArrayList<>();
        List<Path> files = Patterns.files();
        for (int i = 0; i < files.size(); i++) {
            Path file = files.get(i);
            Decode mode = Decode.values()[1 + i % 4];
            int headDim = new int[] {128, 64, 256}[i % 3];
            boolean warpKeys = i % 2 == 1;
            tests.add(DynamicTest.dynamicTest(file.getFileName() + " " + mode + " D=" + headDim + (warpKeys ? " warp keys" : ""), () -> {
                Pattern pattern = Patterns.compile(file);
                if (pattern == null) return;
                LoweredPattern lowered = LowerPattern.lower(Passes.optimize(pattern, Map.of()));
                KernelConfig config = KernelConfig.of(90, DType.BFLOAT16, headDim, headDim).forDecode(mode).withWarpKeys(warpKeys);
                PtxModule module = PtxModule.render(lowered, config);
                assertTrue(module.text().contains(".visible .entry " + PtxModule.MERGE_ENTRY + "("), "the merge entry is in the module");
                assertEquals(mode.pages(), module.text().contains("p_block_table"), "a paged module takes the block table");
                assertEquals(warpKeys, module.text().contains("merged through shared memory"), "the warps' partials merged in the block");
                String text = module.text();
                int function = text.indexOf(".func attnc_merge_rows("), decode = text.indexOf(".entry " + PtxModule.ATTENTION_ENTRY + "(");
                assertTrue(function >= 0 && function < decode, "the merge function is declared before the decode entry that calls it");
                assertEquals(2, text.split("call.uni attnc_merge_rows,", -1).length - 1, "the decode entry's last blocks and the merge entry call it");
                PtxAssemblesTest.assemble(module.text(), 90);
            }));
        }
        return tests;
    }

    @Test
    void packingNeedsAHeadFreeMaskScoreAndScaleAndAGroupThatFits() throws Exception {
        LoweredPattern causal = lower("mask: q >= kv");
        LoweredPattern alibi = lower("input slopes: float32[H]\nmask: q >= kv\nscore: s - slopes[h] * float(q - kv)");
        LoweredPattern perHeadSink = lower("input z: float32[H]\nnorm: softmax(sink = z[h])\nmask: q >= kv");
        assertTrue(GpuDecode.packable(causal));
        assertFalse(GpuDecode.packable(alibi), "the score reads h");
        assertTrue(GpuDecode.packable(perHeadSink), "the sink is the merge's, per row");
        // A packed launch redefines H and Nq: a mask reading Nq, or an input whose strides do, cannot pack.
        assertEquals("the mask reads the size Nq", GpuDecode.packingRefusal(lower("mask: q >= kv && q >= Nq - 8")));
        assertEquals("the score reads the size Nq", GpuDecode.packingRefusal(lower("input w: float32[B, Nq]\nmask: q >= kv\nscore: s + w[b, q - Q0]")));
        assertEquals("the score reads h", GpuDecode.packingRefusal(alibi));
        assertEquals(Decode.SPLIT_PACKED, GpuDecode.config(causal, 90, DType.BFLOAT16, binding(32, 8, 4)).decode());
        assertEquals(Decode.SPLIT, GpuDecode.config(causal, 90, DType.BFLOAT16, binding(32, 8, 32)).decode(), "group 4 x 32 queries > 64 rows");
        assertEquals(Decode.SPLIT, GpuDecode.config(alibi, 90, DType.BFLOAT16, binding(32, 8, 1)).decode());
    }

    @Test
    void warpsShareTheRowsOfBlocksOfAtMost16() throws Exception {
        LoweredPattern causal = lower("mask: q >= kv");
        LoweredPattern alibi = lower("input slopes: float32[H]\nmask: q >= kv\nscore: s - slopes[h] * float(q - kv)");
        KernelConfig token = GpuDecode.config(causal, 90, DType.BFLOAT16, binding(32, 8, 1));
        assertTrue(token.warpKeys(), "4 packed rows");
        assertEquals(16, token.blockM());
        assertEquals(16, token.warpKeyCount(), "64-key tiles, 16 keys a warp");
        assertTrue(GpuDecode.config(causal, 90, DType.BFLOAT16, binding(32, 8, 4)).warpKeys(), "16 packed rows");
        KernelConfig draft = GpuDecode.config(causal, 90, DType.BFLOAT16, binding(32, 8, 8));
        assertFalse(draft.warpKeys(), "32 packed rows: each warp its own 16");
        assertEquals(64, draft.blockM());
        assertFalse(GpuDecode.warpKeysFit(draft, binding(32, 8, 8)), "a packed launch's later query blocks would run the first one's list");
        KernelConfig unpacked = GpuDecode.config(alibi, 90, DType.BFLOAT16, binding(32, 8, 16));
        assertEquals(Decode.SPLIT, unpacked.decode());
        assertTrue(unpacked.warpKeys(), "16 queries of one head");
        KernelConfig paged = token.forDecode(Decode.SPLIT_PACKED_PAGED);
        assertTrue(paged.warpKeys());
        assertEquals(64, paged.blockN(), "paged with 16 keys a warp");
        assertEquals(64, KernelConfig.of(90, DType.BFLOAT16, 128, 128).forDecode(Decode.SPLIT_PAGED).withWarpKeys(true).blockN(),
                "the warps' 16 keys each, where the row-split paged kernel takes 32-key tiles");
        assertThrows(IllegalArgumentException.class, () -> KernelConfig.of(90, DType.BFLOAT16, 128, 128).forDecode(Decode.SPLIT_PAGED).withDecodeTiling(32, 2, true),
                "32-key tiles give a warp 8 keys");
        assertThrows(IllegalArgumentException.class, () -> KernelConfig.of(90, DType.BFLOAT16, 128, 128).withWarpKeys(true), "the prefill kernel");
    }

    @Test
    void contiguousWarpKeyDecodesOnSm90KeepEveryStageRequested() throws Exception {
        LoweredPattern causal = lower("mask: q >= kv");
        KernelConfig token = GpuDecode.config(causal, 90, DType.BFLOAT16, binding(32, 8, 1));
        assertEquals(3, token.stages());
        assertEquals(3, token.tilesAhead(), "each stage refilled once its tile is used");
        KernelConfig paged = token.forDecode(token.decode().paged());
        assertEquals(2, paged.stages());
        assertEquals(1, paged.tilesAhead(), "paged copies refill a stage when the next tile has landed");
        KernelConfig draft = GpuDecode.config(causal, 90, DType.BFLOAT16, binding(32, 8, 8));
        assertEquals(2, draft.stages());
        assertEquals(1, draft.tilesAhead(), "warps of their own rows");
        KernelConfig ampere = GpuDecode.config(causal, 80, DType.BFLOAT16, binding(32, 8, 1));
        assertEquals(2, ampere.stages(), "three stages at D = 128 pass sm_86's shared memory");
        assertEquals(2, ampere.tilesAhead());
        assertEquals(1, KernelConfig.of(90, DType.BFLOAT16, 128, 128).tilesAhead(), "the prefill kernel");
    }

    @Test
    void aPackedLaunchHasTheGroupsQueriesAsRowsOfItsKvHead() {
        Binding decode = binding(32, 8, 3);
        Binding packed = GpuDecode.launchBinding(KernelConfig.of(90, DType.BFLOAT16, 128, 128).forDecode(Decode.SPLIT_PACKED), decode);
        assertEquals(8, packed.size("H"));
        assertEquals(12, packed.size("Nq"), "4 heads x 3 queries");
        assertEquals(3, packed.size("packed_nq"));
        assertEquals(decode.queryOffset(), packed.queryOffset());
        assertEquals(decode, GpuDecode.launchBinding(KernelConfig.of(90, DType.BFLOAT16, 128, 128).forDecode(Decode.SPLIT), decode));
    }

    @Test
    void decodeKernelsSwizzleKAndVWhereRowsAreWhole128ByteGroups() {
        KernelConfig wide = KernelConfig.of(90, DType.BFLOAT16, 128, 128).forDecode(Decode.SPLIT_PACKED);
        assertTrue(wide.swizzledKv());
        assertEquals(256, wide.kStride(), "unpadded K rows");
        assertEquals(256, wide.vStride(), "unpadded V rows");
        assertEquals(272, wide.qStride(), "Q keeps its padded rows");
        assertEquals(64, wide.blockN());
        KernelConfig paged = wide.forDecode(Decode.SPLIT_PACKED_PAGED);
        assertTrue(paged.swizzledKv());
        assertEquals(32, paged.blockN(), "paged caches keep 32-key tiles");
        assertTrue(KernelConfig.of(90, DType.BFLOAT16, 64, 64).forDecode(Decode.SPLIT).swizzledKv());
        KernelConfig odd = KernelConfig.of(90, DType.BFLOAT16, 96, 96).forDecode(Decode.SPLIT);
        assertFalse(odd.swizzledKv(), "192-byte rows are not whole 128-byte groups");
        assertEquals(208, odd.kStride());
        assertFalse(KernelConfig.of(80, DType.BFLOAT16, 128, 128).swizzledKv(), "the prefill kernel keeps padded rows");
    }

    @Test
    void headDimsBeyondTheCheckedOnesAreRefused() throws Exception {
        Map<String, Integer> sizes = new java.util.HashMap<>(binding(32, 8, 1).sizes());
        sizes.put("D", 256);
        sizes.put("Dv", 256);
        Binding wide = new Binding(Map.copyOf(sizes), 4095, Map.of());
        LoweredPattern causal = lower("mask: q >= kv");
        KernelConfig hopper = GpuDecode.config(causal, 90, DType.BFLOAT16, wide);
        assertTrue(hopper.warpKeys());
        assertEquals(64, hopper.blockN());
        assertEquals(32, hopper.withWarpKeys(false).blockN(), "the row-split kernel's 64-key tiles spill at D = 256");
        var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> GpuDecode.config(causal, 80, DType.BFLOAT16, wide));
        assertTrue(e.getMessage().contains("sm_80 takes head dims up to 128"), e.getMessage());
        sizes.put("D", 272);
        Binding wider = new Binding(Map.copyOf(sizes), 4095, Map.of());
        assertThrows(IllegalArgumentException.class, () -> GpuDecode.config(causal, 90, DType.BFLOAT16, wider));
    }

    @Test
    void pagedLaunchesOutsideWhatTheKernelTakesAreRefusedInOneLine() throws Exception {
        Pattern causal = Passes.optimize(Frontend.compile("causal", "mask: q >= kv"), Map.of());
        assertEquals(2, PagedDecode.requireSupported(causal, ragged(causal, new int[] {0, 2, 4}, Map.of()), 90, false));
        var unequal = org.junit.jupiter.api.Assertions.assertThrows(UnsupportedOperationException.class,
                () -> PagedDecode.requireSupported(causal, ragged(causal, new int[] {0, 1, 3}, Map.of()), 90, false));
        assertTrue(unequal.getMessage().contains("sequence 1 has 2"), unequal.getMessage());
        Pattern document = Passes.optimize(Frontend.compile("document", "input doc: int32[B, Nkv]\nmask: doc[b, q] == doc[b, kv]"), Map.of());
        var sized = org.junit.jupiter.api.Assertions.assertThrows(UnsupportedOperationException.class,
                () -> PagedDecode.requireSupported(document, ragged(document, new int[] {0, 1, 2}, Map.of("doc", attnc.tensor.Tensor.wrap(new int[14], 2, 7))), 90, false));
        assertTrue(sized.getMessage().contains("input 'doc'"), sized.getMessage());
        Pattern gated = Passes.optimize(Frontend.compile("gated", "mask: q >= kv\noutput: o * float(q)"), Map.of());
        var merged = org.junit.jupiter.api.Assertions.assertThrows(UnsupportedOperationException.class,
                () -> PagedDecode.requireSupported(gated, ragged(gated, new int[] {0, 1, 2}, Map.of()), 90, false));
        assertTrue(merged.getMessage().contains("output transform"), merged.getMessage());
    }

    @Test
    void aPagedLaunchKeepsTheSizesItsInputsName() throws Exception {
        Pattern t5 = Passes.optimize(Frontend.compile("t5", "input bias: float32[H, Buckets]\nmask: q >= kv\nscore: s + bias[h, min(kv, Buckets - 1)]"), Map.of());
        var ragged = ragged(t5, new int[] {0, 1, 2}, Map.of("bias", attnc.tensor.Tensor.ofFloats(DType.FLOAT32, new int[] {2, 5}, new float[10])));
        Binding launch = PagedDecode.launchBinding(ragged, 1);
        assertEquals(5, launch.size("Buckets"), "the kernel's arguments name every size of the inputs");
        assertEquals(7, launch.size("Nkv"), "the longest sequence's keys");
    }

    @Test
    void packedQueriesGoToTheirSequencesRowsByHead() throws Exception {
        Pattern causal = Passes.optimize(Frontend.compile("causal", "mask: q >= kv"), Map.of());
        attnc.launch.RaggedBinding ragged = ragged(causal, new int[] {0, 2, 4}, Map.of());
        float[] rows = new float[4 * 2 * 8];
        for (int i = 0; i < rows.length; i++) rows[i] = i;
        attnc.tensor.Tensor q = PagedDecode.byHead(attnc.tensor.Tensor.ofFloats(DType.FLOAT32, new int[] {4, 2, 8}, rows), ragged, 2);
        assertEquals(List.of(2, 2, 2, 8), java.util.Arrays.stream(q.shape()).boxed().toList());
        float[] got = q.floats();
        // [b, h, i, d] is row queryStarts[b] + i, head h of the packed queries.
        for (int b = 0; b < 2; b++) for (int h = 0; h < 2; h++) for (int i = 0; i < 2; i++) for (int d = 0; d < 8; d++) {
            assertEquals(rows[((2 * b + i) * 2 + h) * 8 + d], got[((b * 2 + h) * 2 + i) * 8 + d]);
        }
    }

    /** Two sequences over a pool of 4 pages of 4 keys, H = 2, Hkv = 1, D = 8, kv lengths 5 and 7. */
    private static attnc.launch.RaggedBinding ragged(Pattern pattern, int[] starts, Map<String, attnc.tensor.Tensor> inputs) {
        attnc.tensor.Tensor q = attnc.tensor.Tensor.ofFloats(DType.FLOAT32, new int[] {starts[2], 2, 8}, new float[starts[2] * 16]);
        attnc.tensor.Tensor pool = attnc.tensor.Tensor.ofFloats(DType.FLOAT32, new int[] {4, 4, 1, 8}, new float[128]);
        attnc.launch.KvCache cache = new attnc.launch.KvCache(pool, pool, attnc.tensor.Tensor.wrap(new int[] {0, 1, 2, 3}, 2, 2),
                attnc.tensor.Tensor.wrap(new int[] {5, 7}, 2));
        return attnc.launch.RaggedBinding.of(pattern, new attnc.launch.RaggedBatch(q, attnc.tensor.Tensor.wrap(starts, 3), cache, inputs));
    }

    private static LoweredPattern lower(String source) throws Exception {
        return LowerPattern.lower(Passes.optimize(Frontend.compile("p", source), Map.of()));
    }

    private static Binding binding(int heads, int kvHeads, int queries) {
        return new Binding(Map.of("B", 2, "H", heads, "Hkv", kvHeads, "Nq", queries, "Nkv", 4096, "D", 128, "Dv", 128, "Q0", 4096 - queries),
                4096 - queries, Map.of());
    }
}
