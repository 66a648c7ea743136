package attnc.ptx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.front.Frontend;
import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.lower.LowerPattern;
import attnc.lower.LoweredPattern;
import attnc.pass.Passes;
import attnc.ptx.emit.KernelConfig;
import attnc.ptx.emit.PtxModule;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What the generated module contains for a few patterns, and the host side of the tile lists. */
class KernelTextTest {
    private static final KernelConfig D64 = KernelConfig.of(80, DType.BFLOAT16, 64, 64);

    private static PtxModule module(String text) throws Exception {
        LoweredPattern pattern = LowerPattern.lower(Passes.optimize(Frontend.compile("t", text), Map.of()));
        return PtxModule.render(pattern, KernelConfig.of(pattern, 80, DType.BFLOAT16, 64, 64));
    }

    @Test
    void denseKernelUsesTheTensorCorePathAndNeedsNoClassifier() throws Exception {
        PtxModule dense = module("mask: true");
        String text = dense.text();
        for (String instruction : new String[] {"mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32", "ldmatrix.sync.aligned.m8n8.x4.shared.b16",
                "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16", "cp.async.cg.shared.global", "ex2.approx.ftz.f32", "shfl.sync.bfly.b32"}) {
            assertTrue(text.contains(instruction), instruction);
        }
        assertFalse(dense.classifies(), "an all-visible mask has no classifier");
        assertFalse(text.contains(PtxModule.CLASSIFY_ENTRY));
    }

    @Test
    void softcapUsesHardwareTanhAndMasksGetAClassifier() throws Exception {
        assertTrue(module("mask: true\nscore: 30.0 * tanh(s / 30.0)").text().contains("tanh.approx.f32"));
        PtxModule document = module("input doc: int32[B, Nkv]\nmask: doc[b, q] == doc[b, kv]");
        assertTrue(document.classifies());
        assertTrue(document.maskPerBatch() && !document.maskPerHead(), "document ids vary by batch, not by head");
        assertTrue(document.text().contains("// mask: doc[b, q] == doc[b, kv]"), "comments name the pattern's expressions");
    }

    @Test
    void fp16InputsUseTheFp16Mma() throws Exception {
        Pattern pattern = Frontend.compile("t", "mask: q >= kv");
        String text = PtxModule.render(LowerPattern.lower(pattern), KernelConfig.of(90, DType.FLOAT16, 128, 128)).text();
        assertTrue(text.contains("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32") && text.contains(".target sm_90"));
    }

    @Test
    void outputsInTheInputPrecisionArePackedPairs() throws Exception {
        Pattern pattern = Frontend.compile("t", "input gate: float32[H]\nmask: q >= kv\noutput: o * sigmoid(gate[h])");
        String text = PtxModule.render(LowerPattern.lower(pattern), KernelConfig.of(90, DType.BFLOAT16, 64, 64).withOutput(DType.BFLOAT16)).text();
        // The only fp32 stores are of o before the transform, for the backward, and only where the caller asks for it.
        assertTrue(text.contains("st.global.b32") && text.lines().filter(l -> l.contains("st.global.v2.f32")).allMatch(l -> l.contains("%pre_addr")),
                "bf16 pairs; fp32 stores only of o before the transform");
        assertTrue(text.contains("@!%pre_present bra.uni"), "o is kept only where pre_out is not null");
        PtxAssemblesTest.assemble(text, 90);
    }

    @Test
    void allVisibleListsMarkOnlyTheRaggedLastTilePartial() {
        TilePlan plan = new TilePlan(2, 3, 1, 1);
        int[] lists = plan.allVisible(130, 64);
        int full = PtxModule.FULL_BIT;
        assertArrayEquals(new int[] {3, full, 1 | full, 2, 3, full, 1 | full, 2}, lists);
        assertEquals(0, plan.slotStrideB());
    }

    @Test
    void configsRejectWhatTheKernelCannotDo() {
        assertThrows(IllegalArgumentException.class, () -> KernelConfig.of(75, DType.BFLOAT16, 64, 64));
        assertThrows(IllegalArgumentException.class, () -> KernelConfig.of(80, DType.FLOAT32, 64, 64));
        assertThrows(IllegalArgumentException.class, () -> KernelConfig.of(80, DType.BFLOAT16, 72, 72));
    }

    @Test
    void aTileSectionIsHonouredOrRefusedWithWhatFits() throws Exception {
        PtxModule tiled = module("mask: q >= kv\ntile: q = 64, kv = 32");
        assertEquals(64, tiled.config().blockM());
        assertEquals(32, tiled.config().blockN());
        IllegalArgumentException q = assertThrows(IllegalArgumentException.class, () -> module("mask: q >= kv\ntile: q = 96, kv = 64"));
        assertTrue(q.getMessage().contains("q = 64, 128, 192 (sm_90) or 256"), q.getMessage());
        Pattern odd = Passes.optimize(Frontend.compile("t", "mask: true\ntile: q = 64, kv = 40"), Map.of());
        IllegalArgumentException kv = assertThrows(IllegalArgumentException.class, () -> new PtxBackend().compile(odd));
        assertTrue(kv.getMessage().contains("multiple of 16"), kv.getMessage());
    }
}
