package attnc.ptx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
            Decode mode = i % 2 == 0 ? Decode.SPLIT : Decode.SPLIT_PACKED;
            int headDim = i % 3 == 0 ? 128 : 64;
            tests.add(DynamicTest.dynamicTest(file.getFileName() + " " + mode + " D=" + headDim, () -> {
                Pattern pattern = Patterns.compile(file);
                if (pattern == null) return;
                LoweredPattern lowered = LowerPattern.lower(Passes.optimize(pattern, Map.of()));
                PtxModule module = PtxModule.render(lowered, KernelConfig.of(90, DType.BFLOAT16, headDim, headDim).forDecode(mode));
                assertTrue(module.text().contains(".visible .entry " + PtxModule.MERGE_ENTRY + "("), "the merge entry is in the module");
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
        assertEquals(Decode.SPLIT_PACKED, GpuDecode.config(causal, 90, DType.BFLOAT16, binding(32, 8, 4)).decode());
        assertEquals(Decode.SPLIT, GpuDecode.config(causal, 90, DType.BFLOAT16, binding(32, 8, 32)).decode(), "group 4 x 32 queries > 64 rows");
        assertEquals(Decode.SPLIT, GpuDecode.config(alibi, 90, DType.BFLOAT16, binding(32, 8, 1)).decode());
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
    void headDimsBeyondTheCheckedOnesAreRefused() throws Exception {
        Map<String, Integer> sizes = new java.util.HashMap<>(binding(32, 8, 1).sizes());
        sizes.put("D", 256);
        sizes.put("Dv", 256);
        Binding wide = new Binding(Map.copyOf(sizes), 4095, Map.of());
        var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> GpuDecode.config(lower("mask: q >= kv"), 90, DType.BFLOAT16, wide));
        assertTrue(e.getMessage().contains("head dims up to 128"), e.getMessage());
    }

    private static LoweredPattern lower(String source) throws Exception {
        return LowerPattern.lower(Passes.optimize(Frontend.compile("p", source), Map.of()));
    }

    private static Binding binding(int heads, int kvHeads, int queries) {
        return new Binding(Map.of("B", 2, "H", heads, "Hkv", kvHeads, "Nq", queries, "Nkv", 4096, "D", 128, "Dv", 128, "Q0", 4096 - queries),
                4096 - queries, Map.of());
    }
}
