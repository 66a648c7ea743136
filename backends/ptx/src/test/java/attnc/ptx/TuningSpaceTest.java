package attnc.ptx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.front.Frontend;
import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.launch.ShapeException;
import attnc.lower.LowerPattern;
import attnc.pass.Passes;
import attnc.ptx.emit.KernelConfig;
import attnc.ptx.emit.PtxModule;
import attnc.ptx.emit.Schedule;
import attnc.run.TuningConfig;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The tuning space: every configuration offered renders and assembles; the prune removes what cannot work. */
class TuningSpaceTest {

    static Binding binding(int n, int d) {
        return new Binding(Map.of("B", 4, "H", 16, "Hkv", 16, "Nq", n, "Nkv", n, "D", d, "Dv", d), 0, Map.of());
    }

    @Test
    void theDefaultTilingIsNamedInTheSpaceSoTheTunerTimesItOnce() throws Exception {
        Pattern causal = Passes.optimize(Frontend.compile("causal", "mask: q >= kv"), Map.of());
        for (int d : new int[] {64, 128}) {
            Binding launch = binding(4096, d);
            TuningConfig standard = new PtxBackend().defaultConfiguration(causal, launch).orElseThrow();
            assertTrue(TuningSpace.configurations(LowerPattern.lower(causal), launch, 80).contains(standard), standard + " at D=" + d);
            KernelConfig expected = KernelConfig.of(LowerPattern.lower(causal), 80, DType.BFLOAT16, d, d);
            assertEquals(expected.tag(), TuningSpace.apply(expected, standard).tag());
            KernelConfig hopper = KernelConfig.of(LowerPattern.lower(causal), 90, DType.BFLOAT16, d, d);
            assertTrue(hopper.schedule().wgmma(), "sm_90 runs the wgmma path at D=" + d);
            assertTrue(TuningSpace.configurations(LowerPattern.lower(causal), launch, 90).contains(TuningSpace.knobsOf(hopper)), hopper.tag());
            assertEquals(hopper.tag(), TuningSpace.apply(KernelConfig.of(90, DType.BFLOAT16, d, d), TuningSpace.knobsOf(hopper)).tag());
        }
    }

    /** The decode's warps share a block's rows only where the launch allows it: unpacked, or packed into at most 16 rows. */
    @Test
    void warpKeysAreOfferedWhereTheDecodeBlocksHoldAtMost16Rows() throws Exception {
        var causal = LowerPattern.lower(Passes.optimize(Frontend.compile("causal", "mask: q >= kv"), Map.of()));
        var alibi = LowerPattern.lower(Passes.optimize(Frontend.compile("alibi", "input slopes: float32[H]\nmask: q >= kv\nscore: s - slopes[h] * float(q - kv)"),
                Map.of()));
        for (var c : List.of(List.of(causal, 1, true), List.of(causal, 4, true), List.of(causal, 8, false), List.of(alibi, 8, true), List.of(alibi, 16, true))) {
            int nq = (Integer) c.get(1);
            Binding decode = new Binding(Map.of("B", 2, "H", 32, "Hkv", 8, "Nq", nq, "Nkv", 4096, "D", 128, "Dv", 128), 4096 - nq, Map.of());
            boolean offered = TuningSpace.configurations((attnc.lower.LoweredPattern) c.get(0), decode, 90).stream()
                    .anyMatch(t -> t.get(TuningSpace.WARP_KEYS, 0) == 1);
            assertEquals(c.get(2), offered, c.get(0) + " Nq = " + nq + ": " + (nq * 4) + " packed rows where it packs");
        }
    }

    @Test
    void hopperTakesThreeWarpgroupsOf128KeysAtD64AndTheRaggedKernelTheNextThatFits() throws Exception {
        Pattern dense = Passes.optimize(Frontend.compile("dense", "mask: true"), Map.of());
        Pattern causal = Passes.optimize(Frontend.compile("causal", "mask: q >= kv"), Map.of());
        KernelConfig plain = KernelConfig.of(LowerPattern.lower(dense), 90, DType.BFLOAT16, 64, 64);
        KernelConfig masked = KernelConfig.of(LowerPattern.lower(causal), 90, DType.BFLOAT16, 64, 64);
        assertEquals(List.of(Schedule.WGMMA_OVERLAP, 3, 128), List.of(plain.schedule(), plain.consumerGroups(), plain.blockN()));
        assertEquals(List.of(Schedule.WGMMA_PINGPONG, 3, 128), List.of(masked.schedule(), masked.consumerGroups(), masked.blockN()));
        KernelConfig ragged = KernelConfig.raggedHopper(LowerPattern.lower(dense), 90, DType.BFLOAT16, 64, 64).orElseThrow();
        assertEquals(null, ragged.limitExceeded(90), ragged.tag());
        assertEquals(112, ragged.blockN(), "the ragged producer's 40 registers leave 152 a consumer: 128 keys would hold 128 accumulators, over 120");
    }

    /**
     * The warpgroups' bits follow the rule unless the knob says (three overlapped warpgroups carry
     * them, two do not), survive the round trip through the knobs, and are refused where nothing
     * overlaps to skip with.
     */
    @Test
    void groupBitsFollowTheRuleUnlessAskedAndNeedAnOverlappedSchedule() {
        KernelConfig mma = KernelConfig.of(90, DType.BFLOAT16, 128, 128);
        int pingpong = Schedule.WGMMA_PINGPONG.ordinal();
        KernelConfig two = TuningSpace.apply(mma, new TuningConfig(Map.of("schedule", pingpong, "consumer_groups", 2)));
        KernelConfig three = TuningSpace.apply(mma, new TuningConfig(Map.of("schedule", pingpong, "consumer_groups", 3, "block_n", 64)));
        assertEquals(List.of(0, 3), List.of(two.listGroups(), three.listGroups()));
        KernelConfig asked = TuningSpace.apply(mma, new TuningConfig(Map.of("schedule", pingpong, "consumer_groups", 2, "group_bits", 1)));
        assertEquals(2, asked.listGroups());
        assertTrue(asked.tag().endsWith("_bits"), asked.tag());
        assertEquals(asked, TuningSpace.apply(mma, TuningSpace.knobsOf(asked)));
        KernelConfig without = TuningSpace.apply(mma, new TuningConfig(Map.of("schedule", pingpong, "consumer_groups", 3, "block_n", 64, "group_bits", 0)));
        assertEquals(0, without.listGroups());
        assertTrue(without.tag().endsWith("_nobits"), without.tag());
        IllegalArgumentException refused = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> TuningSpace.apply(mma, new TuningConfig(Map.of("schedule", Schedule.WGMMA.ordinal(), "group_bits", 1))));
        assertTrue(refused.getMessage().contains("overlapped"), refused.getMessage());
    }

    @Test
    void aTuningThatDoesNotFitTheLaunchsHeadDimsIsRefusedAsAShape() throws Exception {
        Pattern causal = Passes.optimize(Frontend.compile("causal", "mask: q >= kv"), Map.of());
        TuningConfig wide = TuningConfig.parse("schedule=" + Schedule.WGMMA_PINGPONG.ordinal() + ",consumer_groups=3,block_n=128,stages=2");
        Binding mla = new Binding(Map.of("B", 1, "H", 4, "Hkv", 2, "Nq", 200, "Nkv", 333, "D", 192, "Dv", 128), 0, Map.of());
        KernelConfig config = TuningSpace.apply(KernelConfig.of(LowerPattern.lower(causal), 90, DType.BFLOAT16, 192, 128), wide);
        ShapeException refused = org.junit.jupiter.api.Assertions.assertThrows(ShapeException.class, () -> PtxKernel.fitting(config, wide, mla));
        assertEquals("the tuning block_n=128,consumer_groups=3,schedule=" + Schedule.WGMMA_PINGPONG.ordinal() + ",stages=2 does not fit sm_90 at D = 192, "
                + "Dv = 128: " + config.limitExceeded(90), refused.getMessage());
        assertTrue(refused.getMessage().contains("shared memory"), refused.getMessage());
        KernelConfig d64 = TuningSpace.apply(KernelConfig.of(LowerPattern.lower(causal), 90, DType.BFLOAT16, 64, 64), wide);
        assertEquals(d64, PtxKernel.fitting(d64, wide, binding(4096, 64)), "the same tuning fits D = 64");
    }

    @Test
    void everyOfferedConfigurationAssembles() throws Exception {
        Pattern causal = Passes.optimize(Frontend.compile("causal", "mask: q >= kv"), Map.of());
        Pattern document = Passes.optimize(Frontend.compile("document", "input doc: int32[B, Nkv]\nmask: doc[b, q] == doc[b, kv]"), Map.of());
        Map<String, String> texts = new LinkedHashMap<>();
        record Case(Pattern pattern, int n, int d, int sm) {}
        // Tilings differ in their loops and addressing, masks only in a few lines: each tiling is assembled once.
        for (Case c : List.of(new Case(causal, 4096, 64, 90), new Case(document, 4096, 128, 80), new Case(document, 100, 64, 80))) {
            List<TuningConfig> space = TuningSpace.configurations(LowerPattern.lower(c.pattern()), binding(c.n(), c.d()), c.sm());
            assertFalse(space.isEmpty(), c.toString());
            for (TuningConfig knobs : space) {
                KernelConfig config = TuningSpace.apply(KernelConfig.of(LowerPattern.lower(c.pattern()), c.sm(), DType.BFLOAT16, c.d(), c.d()), knobs);
                assertTrue(config.blockM() <= Math.max(c.n(), 128) && config.blockN() <= Math.max(c.n(), 64), config.tag());
                assertEquals(null, config.limitExceeded(c.sm()), config.tag());
                texts.putIfAbsent(config.tag(), PtxModule.render(LowerPattern.lower(c.pattern()), config).text());
            }
        }
        PtxAssemblesTest.assembleAll(texts.values().stream().filter(t -> !t.contains(".target sm_90")).toList(), 80);
        PtxAssemblesTest.assembleAll(texts.values().stream().filter(t -> t.contains(".target sm_90")).toList(), 90);
    }

    @Test
    void pruneDropsTilesLongerThanTheSequenceAndOversizedTilings() throws Exception {
        Pattern causal = Passes.optimize(Frontend.compile("causal", "mask: q >= kv"), Map.of());
        assertTrue(TuningSpace.configurations(LowerPattern.lower(causal), binding(100, 64), 90).stream()
                .allMatch(k -> k.get("warps", 0) * k.get("m_tiles", 0) * 16 <= 100 && k.get("block_n", 0) <= 100));
        assertFalse(TuningSpace.configurations(LowerPattern.lower(causal), binding(4096, 128), 80).contains(TuningSpace.knobs(8, 1, 128, 2)),
                "128 x 128 tiles, 2 stages at D=128 need 174 KB of shared memory, more than sm_80 has");
        List<TuningConfig> d128 = TuningSpace.configurations(LowerPattern.lower(causal), binding(4096, 128), 90);
        assertFalse(d128.contains(TuningSpace.knobs(8, 2, 64, 2)), "256 rows at D=128 would spill accumulators");
        assertTrue(d128.contains(TuningSpace.knobs(8, 1, 128, 2)), "the default tiling is offered");
    }
}
