package attnc.ptx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.lower.LowerPattern;
import attnc.lower.LoweredPattern;
import attnc.pass.Passes;
import attnc.ptx.emit.KernelConfig;
import attnc.ptx.emit.PtxModule;
import attnc.ptx.emit.Signature;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The ragged prefill module of every pattern assembles with ptxas for sm_80 (D = 64) and sm_90a
 * (D = 128 with the sm_90 mma.sync tiling and with {@link KernelConfig#raggedHopper}'s wgmma one where
 * the pattern takes it; on a few patterns also at D = 32, 64, 80 and 256, and mma.sync at 256), and takes the work
 * list, the queries' offsets, the block table and, exactly where an input is sized per sequence,
 * the input offsets; unless every element is visible it carries the classifier (attnc builds the
 * lists on the host; an exported module's caller launches it per sequence), taking the same parameters.
 */
class RaggedModuleTest {

    @TestFactory
    List<DynamicTest> everyRaggedModuleAssembles() {
        List<DynamicTest> tests = new ArrayList<>();
        record Target(int sm, String arch, DType dtype, int headDim, boolean wgmma) {}
        List<Target> every = List.of(new Target(80, "sm_80", DType.BFLOAT16, 64, false), new Target(90, "sm_90a", DType.BFLOAT16, 128, false),
                new Target(90, "sm_90a", DType.BFLOAT16, 128, true));
        // The wgmma producer's other row widths (4, 16 and 32 rows a pass, a padded chunk, a partial last pass) on a few patterns:
        // ptxas takes ~1 s a module.
        List<Target> widths = List.of(new Target(90, "sm_90a", DType.FLOAT16, 64, true), new Target(90, "sm_90a", DType.BFLOAT16, 80, true),
                new Target(90, "sm_90a", DType.BFLOAT16, 256, true), new Target(90, "sm_90a", DType.BFLOAT16, 32, true),
                new Target(90, "sm_90a", DType.BFLOAT16, 256, false));
        for (Path file : Patterns.files()) {
            boolean wide = List.of("causal.attn", "alibi.attn", "softmax_sink.attn", "gated.attn").contains(file.getFileName().toString());
            List<Target> targets = wide ? java.util.stream.Stream.concat(every.stream(), widths.stream()).toList() : every;
            tests.add(DynamicTest.dynamicTest(file.getFileName().toString(), () -> {
                Pattern pattern = Patterns.compile(file);
                if (pattern == null) return;
                LoweredPattern lowered = LowerPattern.lower(Passes.optimize(pattern, Map.of()));
                List<String> texts = new ArrayList<>();
                for (Target t : targets) {
                    KernelConfig mma = KernelConfig.ofMmaSync(lowered, t.sm(), t.dtype(), t.headDim(), t.headDim()).forRagged();
                    KernelConfig config = t.wgmma() ? KernelConfig.raggedHopper(lowered, t.sm(), t.dtype(), t.headDim(), t.headDim()).orElse(mma) : mma;
                    PtxModule module = PtxModule.render(lowered, config);
                    String text = module.text();
                    assertEquals(!lowered.alwaysVisible(), module.classifies(), "a classifier exactly where the mask hides anything");
                    if (module.classifies()) {
                        assertEquals(parameters(text, PtxModule.ATTENTION_ENTRY), parameters(text, PtxModule.CLASSIFY_ENTRY), "the classifier takes the entry's parameters");
                    }
                    assertEquals(config.schedule().wgmma(), text.contains(".target sm_" + t.sm() + "a"), "an architecture-specific target exactly for wgmma");
                    assertFalse(text.contains("p_tmap"), "rows through the block table: no tensor maps");
                    if (config.schedule().wgmma()) assertTrue(text.contains("cp.async.mbarrier.arrive.noinc"), "the producer's copies arrive on the full barriers");
                    for (String tensor : List.of("p_work", "p_query_starts", "p_block_table", "p_kv_lengths")) assertTrue(text.contains(tensor), tensor);
                    assertEquals(!Signature.raggedInputs(lowered.pattern()).isEmpty(), text.contains("p_input_offsets"), "input offsets exactly for inputs sized per sequence");
                    texts.add(text);
                }
                for (int i = 0; i < targets.size(); i++) PtxAssemblesTest.assemble(texts.get(i), targets.get(i).arch());
            }));
        }
        return tests;
    }

    /** The .param lines of {@code entry} in {@code ptx}. */
    private static String parameters(String ptx, String entry) {
        int start = ptx.indexOf(".visible .entry " + entry + "(");
        return ptx.substring(ptx.indexOf("(", start), ptx.indexOf(")", start));
    }
}
